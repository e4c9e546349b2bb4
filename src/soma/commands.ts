/**
 * soma's command router: one routing table for handlers connected over gRPC and handlers registered in-process.
 *
 * - A command goes to one handler endpoint subscribed to its name, chosen by consistent hashing of its routing key
 *   over a ring where each endpoint holds `load_factor` points at `md5hex(streamId + " #" + i)` (so a routing key
 *   stays on one endpoint while the topology is unchanged, and the load splits by load factor).
 * - Each endpoint has a permit-gated, priority-ordered queue; gRPC endpoints start with no permits.
 * - Outcomes: the handler's response; AXONIQ-4000 without handler, AXONIQ-4005 for a duplicate message id,
 *   AXONIQ-4002 on timeout, AXONIQ-4001 when the endpoint is lost after the command was sent to it (commands still
 *   queued for it are routed again).
 *
 * @module
 */
import { RouteCounts } from "./route_counts.ts";
import { createHash } from "node:crypto";
import { AxonErrorCode, type Metadata } from "../dendrite/mod.ts";
import type { Command } from "../gen/axon/command_pb.ts";
import type { Payload } from "./payload.ts";
import { FlowQueue } from "./flow.ts";
import { Deadlines } from "./deadlines.ts";

/** An error outcome as Axon carries it (`error_code` + `ErrorMessage`). */
export interface HandlingError {
  readonly code: string;
  readonly message: string;
  readonly details: readonly string[];
  readonly location: string;
  /** `ErrorMessage.error_code`: the handler's own code (e.g. a domain code), relayed unchanged; default `code`. */
  readonly errorCode?: string;
  /** Exception details: the error response's `payload` (Axon Framework's `HandlerExecutionException` details). */
  readonly payload?: Payload;
  /** The original error object when the handler ran in this process. */
  readonly cause?: unknown;
}

/** What a dispatch ends with. */
export type CommandOutcome =
  | { readonly ok: true; readonly id: string; readonly payload?: Payload; readonly metadata: Metadata }
  | { readonly ok: false; readonly id: string; readonly error: HandlingError };

/** A command travelling through the router. */
export interface RoutedCommand {
  readonly id: string;
  readonly name: string;
  readonly routingKey: string;
  /** Higher first. */
  readonly priority: number;
  readonly timestamp: number;
  readonly payload: Payload;
  readonly metadata: Metadata;
  /** The wire message when the command arrived over gRPC (forwarded unchanged to gRPC handlers). */
  readonly wire?: Command;
  readonly clientId: string;
  readonly component: string;
  /** Aborts when the dispatcher gives up (cancel, timeout) or the endpoint is lost. */
  readonly signal: AbortSignal;
}

/** A handler endpoint: one gRPC command stream or one in-process handler. */
export interface CommandEndpoint {
  /** Unique per connection: `clientId.uuid` for gRPC streams. */
  readonly streamId: string;
  readonly clientId: string;
  readonly component: string;
  /** Whether the handler runs in this process. */
  readonly local: boolean;
  /** Hands over a command; the endpoint answers through {@link CommandRouter.respond}. */
  deliver(command: RoutedCommand): void;
}

/** Per-endpoint numbers for the status surface. */
export interface CommandHandlerStatus {
  readonly command: string;
  readonly streamId: string;
  readonly clientId: string;
  readonly component: string;
  readonly local: boolean;
  readonly loadFactor: number;
  readonly permits: number;
  readonly queued: number;
}

interface Pending {
  readonly command: RoutedCommand;
  readonly priority: number;
  readonly controller: AbortController;
  readonly settle: (outcome: CommandOutcome) => void;
  streamId: string;
  sent: boolean;
}

interface EndpointState {
  readonly endpoint: CommandEndpoint;
  readonly queue: FlowQueue<Pending>;
  readonly subscriptions: Map<string, number>;
}

interface Ring {
  readonly points: string[];
  readonly owners: string[];
}

/** `ok`; `rejected` for a handler's own (non-Axon) error code; `error` otherwise. */
function outcomeLabel(outcome: CommandOutcome): string {
  if (outcome.ok) return "ok";
  return (outcome.error.errorCode ?? outcome.error.code).startsWith("AXONIQ-") ? "error" : "rejected";
}

/** Default load factor (also used for 0). */
export const DEFAULT_LOAD_FACTOR = 100;
const MAX_LOAD_FACTOR = 10_000;

/** md5 of a string, hex. */
export function md5hex(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/**
 * The router.
 *
 * @example
 * ```ts ignore
 * const router = new CommandRouter();
 * router.addEndpoint(endpoint, Infinity);
 * router.subscribe(endpoint.streamId, "example.v1.GreetCommand", 100);
 * const outcome = await router.dispatch(command, { timeoutMs: 5_000 });
 * ```
 */
export class CommandRouter {
  readonly #endpoints = new Map<string, EndpointState>();
  /** command name → streamId → load factor */
  readonly #byName = new Map<string, Map<string, number>>();
  readonly #rings = new Map<string, Ring>();
  readonly #pending = new Map<string, Pending>();
  /** The commands' timeouts: one timer per timeout value, not one per command. */
  readonly #deadlines = new Deadlines();
  /** Commands routed, by name and outcome (`ok`, `rejected` with an application code, `error`, `cancelled`). */
  readonly routed = new RouteCounts();

  /** Adds an endpoint with its initial permits (0 for gRPC streams, Infinity in-process). */
  addEndpoint(endpoint: CommandEndpoint, permits: number): void {
    const state: EndpointState = {
      endpoint,
      subscriptions: new Map(),
      queue: new FlowQueue<Pending>((pending) => {
        pending.sent = true;
        endpoint.deliver(pending.command);
      }, permits),
    };
    this.#endpoints.set(endpoint.streamId, state);
  }

  /** Whether the endpoint is known. */
  hasEndpoint(streamId: string): boolean {
    return this.#endpoints.has(streamId);
  }

  /** Subscribes an endpoint to a command name (`loadFactor` 0 → 100). */
  subscribe(streamId: string, command: string, loadFactor: number): void {
    const state = this.#endpoints.get(streamId);
    if (!state) throw new Error(`Unknown command endpoint "${streamId}"`);
    const factor = loadFactor > 0 ? Math.min(Math.floor(loadFactor), MAX_LOAD_FACTOR) : DEFAULT_LOAD_FACTOR;
    state.subscriptions.set(command, factor);
    let members = this.#byName.get(command);
    if (!members) this.#byName.set(command, members = new Map());
    members.set(streamId, factor);
    this.#rings.delete(command);
  }

  /** Removes one subscription of an endpoint. */
  unsubscribe(streamId: string, command: string): void {
    this.#endpoints.get(streamId)?.subscriptions.delete(command);
    const members = this.#byName.get(command);
    if (!members) return;
    members.delete(streamId);
    if (members.size === 0) this.#byName.delete(command);
    this.#rings.delete(command);
  }

  /** Adds permits to an endpoint (cumulative) and sends what they allow. */
  grant(streamId: string, permits: number): void {
    this.#endpoints.get(streamId)?.queue.grant(permits);
  }

  /**
   * Removes an endpoint: its commands still queued are routed again (or answered AXONIQ-4000), those already sent
   * to it fail with AXONIQ-4001.
   */
  removeEndpoint(streamId: string, reason = "Connection to the command handler was lost"): void {
    const state = this.#endpoints.get(streamId);
    if (!state) return;
    for (const command of [...state.subscriptions.keys()]) this.unsubscribe(streamId, command);
    this.#endpoints.delete(streamId);
    for (const pending of state.queue.takeAll()) this.#route(pending);
    for (const pending of [...this.#pending.values()]) {
      if (pending.streamId !== streamId || !pending.sent) continue;
      pending.settle(failure(pending.command.id, AxonErrorCode.CONNECTION_TO_HANDLER_LOST, reason));
    }
  }

  /** Delivers a handler's answer; false when no command with that id waits for this endpoint. */
  respond(streamId: string, requestId: string, outcome: CommandOutcome): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending || pending.streamId !== streamId || !pending.sent) return false;
    pending.settle(outcome);
    return true;
  }

  /** Whether a handler (any endpoint) is subscribed to `command`. */
  hasHandler(command: string): boolean {
    return (this.#byName.get(command)?.size ?? 0) > 0;
  }

  /**
   * Routes a command and waits for its outcome. Never rejects: every failure is an outcome with an Axon code,
   * except that an aborted `signal` rejects with its reason.
   */
  dispatch(
    command: Omit<RoutedCommand, "signal">,
    options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<CommandOutcome> {
    if (this.#pending.has(command.id)) {
      return Promise.resolve(
        failure(command.id, AxonErrorCode.COMMAND_DUPLICATED, `Duplicate command id "${command.id}"`),
      );
    }
    const signal = options.signal;
    signal?.throwIfAborted();
    return new Promise<CommandOutcome>((resolve, reject) => {
      const controller = new AbortController();
      const routed: RoutedCommand = { ...command, signal: controller.signal };
      const finish = () => {
        deadline.cancel();
        signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(command.id);
        this.#endpoints.get(pending.streamId)?.queue.remove(pending);
      };
      const pending: Pending = {
        command: routed,
        priority: command.priority,
        controller,
        streamId: "",
        sent: false,
        settle: (outcome) => {
          finish();
          this.routed.add(command.name, outcomeLabel(outcome));
          if (!controller.signal.aborted && !outcome.ok) {
            controller.abort(new Error(outcome.error.message));
          }
          resolve(outcome);
        },
      };
      const onAbort = () => {
        finish();
        this.routed.add(command.name, "cancelled");
        controller.abort(signal!.reason);
        reject(signal!.reason);
      };
      const deadline = this.#deadlines.after(
        options.timeoutMs,
        () =>
          pending.settle(
            failure(
              command.id,
              AxonErrorCode.COMMAND_TIMEOUT,
              `Command "${command.name}" timed out after ${options.timeoutMs} ms`,
            ),
          ),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(command.id, pending);
      this.#route(pending);
    });
  }

  /** Every subscription, for the status surface. */
  handlers(): CommandHandlerStatus[] {
    const out: CommandHandlerStatus[] = [];
    for (const [command, members] of this.#byName) {
      for (const [streamId, loadFactor] of members) {
        const state = this.#endpoints.get(streamId);
        if (!state) continue;
        const { endpoint } = state;
        out.push({
          command,
          streamId,
          clientId: endpoint.clientId,
          component: endpoint.component,
          local: endpoint.local,
          loadFactor,
          permits: state.queue.permits,
          queued: state.queue.size,
        });
      }
    }
    return out;
  }

  /** Fails every waiting command (server shutdown). */
  close(reason = "soma is shutting down"): void {
    for (const pending of [...this.#pending.values()]) {
      pending.settle(failure(pending.command.id, AxonErrorCode.CONNECTION_TO_HANDLER_LOST, reason));
    }
  }

  #route(pending: Pending): void {
    const { command } = pending;
    const streamId = this.#select(command.name, command.routingKey);
    const state = streamId === undefined ? undefined : this.#endpoints.get(streamId);
    if (!state) {
      pending.settle(
        failure(command.id, AxonErrorCode.NO_HANDLER_FOR_COMMAND, `No Handler for command: ${command.name}`),
      );
      return;
    }
    pending.streamId = state.endpoint.streamId;
    pending.sent = false;
    state.queue.enqueue(pending);
  }

  #select(command: string, routingKey: string): string | undefined {
    const members = this.#byName.get(command);
    if (!members || members.size === 0) return undefined;
    if (members.size === 1) return members.keys().next().value;
    let ring = this.#rings.get(command);
    if (!ring) this.#rings.set(command, ring = buildRing(members));
    const hash = md5hex(routingKey);
    let low = 0;
    let high = ring.points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ring.points[mid] < hash) low = mid + 1;
      else high = mid;
    }
    return ring.owners[low === ring.points.length ? 0 : low];
  }
}

function buildRing(members: ReadonlyMap<string, number>): Ring {
  const entries: [string, string][] = [];
  for (const [streamId, loadFactor] of members) {
    for (let i = 0; i < loadFactor; i++) entries.push([md5hex(`${streamId} #${i}`), streamId]);
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { points: entries.map((e) => e[0]), owners: entries.map((e) => e[1]) };
}

/** An error outcome. */
export function failure(id: string, code: string, message: string, cause?: unknown): CommandOutcome {
  return { ok: false, id, error: { code, message, details: [], location: "soma", cause } };
}
