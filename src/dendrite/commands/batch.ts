/**
 * One aggregate's queued commands decided together: each on the state the previous ones left, their events turned
 * into records for one append, and for each command how to settle it once that append succeeded (a refused
 * command fails alone; the others in its batch go on).
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";
import type { Context } from "@opentelemetry/api";
import { DomainError } from "../core/errors.ts";
import { causedBy, type CommandMessage, newMessageId } from "../core/message.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { EventRecord } from "../eventstore/event_store.ts";
import { traceDecide } from "../observability/event_tracing.ts";
import { withTraceContext } from "../observability/trace.ts";
import type { AggregateDefinition, Decision, DomainEventMessage } from "./aggregate.ts";

/**
 * A command waiting for its aggregate.
 *
 * @example
 * ```ts
 * import type { Pending } from "./batch.ts";
 * import type { Message } from "@bufbuild/protobuf";
 * const waiting: Pending<Message>[] = [];
 * console.log(waiting.length);
 * ```
 */
export interface Pending<C extends Message> {
  /** The command. */
  readonly command: CommandMessage<C>;
  /** Aborts the command while it waits. */
  readonly signal?: AbortSignal;
  /** Answers the command. */
  readonly resolve: (result: Message | undefined) => void;
  /** Fails the command. */
  readonly reject: (error: unknown) => void;
  /** The command's handling context (its span), when tracing is on. */
  readonly trace?: Context;
}

/**
 * A batch decided: the records to append, how to settle each command after the append, and the state and last
 * sequence after the batch's events.
 *
 * @example
 * ```ts
 * import type { DecidedBatch } from "./batch.ts";
 * const nothing: DecidedBatch<number> = { records: [], settles: [], state: 0, sequence: -1 };
 * console.log(nothing.records.length);
 * ```
 */
export interface DecidedBatch<S> {
  /** The events of every accepted command, in order, ready to append. */
  readonly records: readonly EventRecord[];
  /** One per command: resolves or rejects it (call only once the records are stored). */
  readonly settles: readonly (() => void)[];
  /** The state after the batch's events. */
  readonly state: S;
  /** The sequence of the batch's last event (the loaded one when it has none). */
  readonly sequence: number;
}

/** Decides `batch` for aggregate `aggregateId`, starting at `state` after event `sequence`. */
export function decideBatch<S, C extends Message, E extends Message>(
  definition: AggregateDefinition<S, C, E>,
  registry: MessageRegistry,
  aggregateId: string,
  batch: readonly Pending<C>[],
  loaded: { readonly state: S; readonly sequence: number },
): DecidedBatch<S> {
  let { state, sequence } = loaded;
  const settles: (() => void)[] = [];
  const records: EventRecord[] = [];
  for (const item of batch) {
    const decision = decideOne(definition, aggregateId, item, state);
    if (decision instanceof Refused) {
      settles.push(() => item.reject(decision.error));
      continue;
    }
    const events: readonly E[] = Array.isArray(decision) ? decision : [decision as E];
    const messages = eventMessages(definition.type, aggregateId, item, events, sequence);
    for (const m of messages) {
      records.push({
        id: m.id,
        timestamp: m.timestamp,
        payload: registry.encode(m.payload),
        metadata: m.metadata,
        aggregate: m.aggregate,
      });
    }
    state = events.reduce((s, e) => definition.evolve(s, e), state);
    sequence += messages.length;
    const after = state;
    settles.push(() => {
      try {
        item.resolve(definition.result?.(item.command.payload, after, messages));
      } catch (error) {
        item.reject(error);
      }
    });
  }
  return { records, settles, state, sequence };
}

/** A command refused: by a returned `DomainError` or by anything `decide` threw. */
class Refused {
  constructor(readonly error: unknown) {}
}

function decideOne<S, C extends Message, E extends Message>(
  definition: AggregateDefinition<S, C, E>,
  aggregateId: string,
  item: Pending<C>,
  state: S,
): E | readonly E[] | Refused {
  let decision: Decision<E>;
  try {
    const decide = () => definition.decide(item.command.payload, state);
    decision = item.trace
      ? traceDecide(definition.type, aggregateId, item.command, item.trace, decide)
      : decide();
  } catch (error) {
    return new Refused(error);
  }
  return decision instanceof DomainError ? new Refused(decision) : decision;
}

/** The command's events as messages, numbered after `sequence`. */
function eventMessages<E extends Message>(
  aggregateType: string,
  aggregateId: string,
  item: Pending<Message>,
  events: readonly E[],
  sequence: number,
): DomainEventMessage<E>[] {
  // Traced: the events carry the command handling's span, for the processors' links.
  const metadata = item.trace ? withTraceContext(causedBy(item.command), item.trace) : causedBy(item.command);
  const timestamp = Date.now();
  return events.map((payload, i) => ({
    id: newMessageId(),
    payload,
    metadata,
    timestamp,
    aggregate: { type: aggregateType, id: aggregateId, sequence: sequence + 1 + i },
  }));
}
