/**
 * What a running soma reports and does on its status surface: its status, the processor views (gRPC clients'
 * reports and in-process processors, with their dead letters), processor actions sent to every instance, and the
 * extra tables callers add.
 *
 * @module
 */
import type { EventStore } from "../dendrite/mod.ts";
import type { CommandRouter } from "./commands.ts";
import { type DeadLetterAction, runDeadLetterAction, withDeadLetters } from "./dead_letters.ts";
import type { LocalIdentity } from "./local_endpoints.ts";
import { SOMA_VERSION } from "./options.ts";
import type { Platform, ProcessorAction } from "./platform.ts";
import type { QueryRouter } from "./queries.ts";
import {
  type ActionOutcome,
  type ClientView,
  clientViews,
  type LocalProcessor,
  type ProcessorView,
  processorViews,
  runLocalAction,
  SegmentMemory,
  type SomaStatus,
  type StatusSectionProvider,
} from "./status.ts";

/** What the control surface reads. */
export interface SomaControlParts {
  readonly platform: Platform;
  readonly commandRouter: CommandRouter;
  readonly queryRouter: QueryRouter;
  readonly store: EventStore;
  readonly identity: LocalIdentity;
  readonly nodeName: string;
  /** The bound ports (0 until bound). */
  readonly ports: () => { readonly grpcPort: number; readonly httpPort: number };
}

/** soma's status and processor control; its public methods are bound (they are handed around as functions). */
export class SomaControl {
  readonly #parts: SomaControlParts;
  readonly #startedAt = Date.now();
  readonly #local = new Map<string, LocalProcessor>();
  readonly #sections = new Set<StatusSectionProvider>();
  readonly #segments = new SegmentMemory();

  constructor(parts: SomaControlParts) {
    this.#parts = parts;
  }

  /** The processor views, in-process ones with their dead letters. */
  readonly processors = async (): Promise<ProcessorView[]> => {
    const { platform, store, identity } = this.#parts;
    const views = processorViews(
      platform.processors(),
      [...this.#local.values()],
      await store.lastToken(),
      identity,
      this.#segments,
    );
    return await withDeadLetters(views, this.#local);
  };

  /** Sends an action to a processor's instances (gRPC clients unless `clientId` is soma's own, and in-process). */
  readonly processorAction = async (
    action: ProcessorAction,
    processor: string,
    segment = 0,
    clientId?: string,
  ): Promise<ActionOutcome> => {
    const own = this.#parts.identity.clientId;
    const remote = clientId === own
      ? []
      : await this.#parts.platform.instruct(action, processor, segment, clientId);
    const localProcessor = this.#local.get(processor);
    const local = localProcessor && (clientId === undefined || clientId === own)
      ? await runLocalAction(localProcessor, action, segment)
      : undefined;
    const all = [...remote.map((r) => r.success), ...(local ? [local.success] : [])];
    return { processor, action, segment, remote, local, success: all.length > 0 && all.every(Boolean) };
  };

  /** Retries or evicts a parked sequence of an in-process processor. */
  readonly deadLetterAction = (processor: string, sequenceId: string, action: DeadLetterAction) =>
    runDeadLetterAction(this.#local, processor, sequenceId, action);

  /** The whole status (`/v1/status` with the token). */
  readonly status = async (): Promise<SomaStatus> => {
    const { commandRouter, queryRouter, store, nodeName } = this.#parts;
    return {
      node: { name: nodeName, ...this.#parts.ports() },
      versions: { soma: SOMA_VERSION, axonApi: "2025.2", deno: Deno.version.deno },
      clients: this.#clients(),
      commandHandlers: commandRouter.handlers(),
      queryHandlers: queryRouter.handlers(),
      subscriptionQueries: queryRouter.subscriptionCount,
      events: { firstToken: await store.firstToken(), lastToken: await store.lastToken() },
      sections: await Promise.all([...this.#sections].map((provide) => provide())),
    };
  };

  /** Lists an in-process processor; returns an unregister. */
  readonly registerProcessor = (processor: LocalProcessor): () => void => {
    this.#local.set(processor.name, processor);
    return () => {
      if (this.#local.get(processor.name) === processor) this.#local.delete(processor.name);
    };
  };

  /** Adds a status table; returns a remover. */
  readonly addStatusSection = (provider: StatusSectionProvider): () => void => {
    const entry: StatusSectionProvider = () => provider();
    this.#sections.add(entry);
    return () => {
      this.#sections.delete(entry);
    };
  };

  #clients(): ClientView[] {
    const { platform, commandRouter, queryRouter, identity } = this.#parts;
    return clientViews(platform.clients(), {
      ...identity,
      version: SOMA_VERSION,
      startedAt: this.#startedAt,
      active: this.#local.size > 0 || commandRouter.handlers().some((h) => h.local) ||
        queryRouter.handlers().some((h) => h.local),
    });
  }
}
