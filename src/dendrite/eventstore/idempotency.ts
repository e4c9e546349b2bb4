/**
 * Idempotency keys in the event store: a command that carries a caller-supplied key (command metadata
 * {@link IDEMPOTENCY_KEY}) passes it on to its events' metadata; a store that supports keys takes it off the events
 * and remembers it, in the same transaction as the events, with what the command stored (aggregate, first and last
 * sequence). A later append with a key it still remembers stores nothing and fails with
 * {@link DuplicateCommandError}, which carries the first outcome; the repository answers the retry from it.
 *
 * The error crosses gRPC as `AXONIQ-4005` with its outcome in the message ({@link duplicateOutcome} reads both).
 *
 * @module
 */
import { AxonErrorCode, DendriteError } from "../core/errors.ts";
import type { EventRecord } from "./event_store.ts";

/**
 * The metadata key of a command's idempotency key (and of its events' on their way into the store).
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { IDEMPOTENCY_KEY } from "./idempotency.ts";
 * import { LocalCommandBus } from "../commands/command_bus.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const commandBus = new LocalCommandBus();
 * const command = create(RecordCommandSchema, { greeterId: "main" });
 * // A retried request with the same key stores its events once.
 * const send = () => commandBus.dispatch(command, { metadata: { [IDEMPOTENCY_KEY]: "request-42" } });
 * ```
 */
export const IDEMPOTENCY_KEY = "idempotency_key";

/**
 * How long a store remembers a key by default: 24 hours.
 *
 * @example
 * ```ts
 * import { DEFAULT_IDEMPOTENCY_WINDOW_MS } from "./idempotency.ts";
 * console.log(DEFAULT_IDEMPOTENCY_WINDOW_MS / 3_600_000); // 24 (hours)
 * ```
 */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * What a command with an idempotency key stored: events `firstSequence..lastSequence` of one aggregate.
 *
 * @example
 * ```ts
 * import { DuplicateCommandError, type IdempotentOutcome } from "../mod.ts";
 * const reused = (error: unknown): IdempotentOutcome | undefined =>
 *   error instanceof DuplicateCommandError ? error.outcome : undefined;
 * const first = { key: "k1", aggregateId: "main", firstSequence: 3, lastSequence: 4 };
 * const error = new DuplicateCommandError(first);
 * const outcome = reused(error);
 * console.log(outcome?.firstSequence); // 3
 * ```
 */
export interface IdempotentOutcome {
  /** The idempotency key. */
  readonly key: string;
  /** The aggregate the command's events were stored for. */
  readonly aggregateId: string;
  /** Sequence of the first event stored. */
  readonly firstSequence: number;
  /** Sequence of the last event stored. */
  readonly lastSequence: number;
}

const PATTERN = /Idempotency key "(.*)" was used before: aggregate "(.*)", sequences (-?\d+) to (-?\d+)/s;

/**
 * An append carried an idempotency key the store remembers: nothing was stored.
 *
 * @example
 * ```ts
 * import { DuplicateCommandError } from "./idempotency.ts";
 * const error = new DuplicateCommandError({ key: "k1", aggregateId: "main", firstSequence: 0, lastSequence: 1 });
 * console.log(error.outcome.aggregateId); // main
 * ```
 */
export class DuplicateCommandError extends DendriteError {
  /** What the first command with this key stored. */
  readonly outcome: IdempotentOutcome;

  /** The key of `outcome` was used before. */
  constructor(outcome: IdempotentOutcome) {
    super(
      AxonErrorCode.COMMAND_DUPLICATED,
      `Idempotency key "${outcome.key}" was used before: aggregate "${outcome.aggregateId}", ` +
        `sequences ${outcome.firstSequence} to ${outcome.lastSequence}`,
    );
    this.outcome = outcome;
  }
}

/** The first outcome an append failure reports, also when it crossed gRPC (a `RemoteError` with the message). */
export function duplicateOutcome(error: unknown): IdempotentOutcome | undefined {
  if (error instanceof DuplicateCommandError) return error.outcome;
  if (!(error instanceof DendriteError) || error.code !== AxonErrorCode.COMMAND_DUPLICATED) return undefined;
  const match = PATTERN.exec(error.message);
  if (!match) return undefined;
  return {
    key: match[1],
    aggregateId: match[2],
    firstSequence: Number(match[3]),
    lastSequence: Number(match[4]),
  };
}

/**
 * Splits a batch into its events without the key metadata and the outcome of every key in it (one key names
 * the events of one command; its aggregate is the one of its first event).
 */
export function takeIdempotencyKeys(
  events: readonly EventRecord[],
): { events: readonly EventRecord[]; outcomes: IdempotentOutcome[] } {
  if (!events.some((event) => typeof event.metadata[IDEMPOTENCY_KEY] === "string")) {
    return { events, outcomes: [] };
  }
  const outcomes = new Map<string, IdempotentOutcome>();
  const stripped = events.map((event) => {
    const key = event.metadata[IDEMPOTENCY_KEY];
    if (typeof key !== "string") return event;
    const { [IDEMPOTENCY_KEY]: _, ...metadata } = event.metadata;
    const sequence = event.aggregate?.sequence ?? -1;
    const seen = outcomes.get(key);
    outcomes.set(key, {
      key,
      aggregateId: seen?.aggregateId ?? event.aggregate?.id ?? "",
      firstSequence: seen?.firstSequence ?? sequence,
      lastSequence: sequence,
    });
    return { ...event, metadata };
  });
  return { events: stripped, outcomes: [...outcomes.values()] };
}
