/**
 * Spans of the event side: an aggregate's decide and append (in the command's trace), and a tracking processor's
 * batches and event handling. Events carry the trace context of the command handling that produced them; a
 * processor handles them later and in batches, so each event's handling is a span in the processor's own trace
 * with a LINK to that command span (OpenTelemetry's rule for batch consumers), not a child of it.
 *
 * Callers test `tracing.enabled` first: with tracing off these functions are never called.
 *
 * @module
 */
import { type Context, type Link, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { CommandMessage, EventMessage } from "../core/message.ts";
import { inSpan, inSpanSync, linksTo, messageAttributes } from "./trace.ts";

/** Runs an aggregate's `decide` for one command in a span under the command's handling span (`parent`). */
export function traceDecide<T>(
  aggregateType: string,
  aggregateId: string,
  command: CommandMessage,
  parent: Context,
  decide: () => T,
): T {
  return inSpanSync(`decide ${command.payload.$typeName}`, {
    parent,
    attributes: {
      ...messageAttributes("command", command),
      "dendrite.aggregate.type": aggregateType,
      "dendrite.aggregate.id": aggregateId,
    },
  }, decide);
}

/**
 * Runs the append of a batch of commands' events in a span: a child of the first command's handling span, linked
 * to the others' (commands waiting together for one aggregate are appended in one transaction).
 */
export function traceAppend<T>(
  aggregateType: string,
  aggregateId: string,
  events: number,
  parents: readonly Context[],
  append: () => Promise<T>,
): Promise<T> {
  const links: Link[] = parents.slice(1).flatMap((parent) => {
    const spanContext = trace.getSpanContext(parent);
    return spanContext ? [{ context: spanContext }] : [];
  });
  return inSpan(`append ${aggregateType}`, {
    parent: parents[0],
    links,
    attributes: {
      "dendrite.aggregate.type": aggregateType,
      "dendrite.aggregate.id": aggregateId,
      "dendrite.events": events,
    },
  }, append);
}

/** Runs one batch of a processor's segment in a span (a root: the processor's own trace). */
export function traceBatch<T>(
  processor: string,
  segment: number,
  events: number,
  work: () => Promise<T>,
): Promise<T> {
  return inSpan(`batch ${processor}`, {
    kind: SpanKind.CONSUMER,
    parent: ROOT_CONTEXT,
    attributes: { "dendrite.processor": processor, "dendrite.segment": segment, "dendrite.events": events },
  }, work);
}

/**
 * Runs a processor's handling of one event in a span, linked to the span that produced the event (the command
 * handling whose context the event's metadata carries); its parent is the batch span, when there is one.
 */
export function traceEventHandling<T>(
  processor: string,
  segment: number,
  event: EventMessage,
  handle: () => Promise<T>,
): Promise<T> {
  return inSpan(`process ${event.payload.$typeName}`, {
    kind: SpanKind.CONSUMER,
    links: linksTo(event.metadata),
    attributes: {
      ...messageAttributes("event", event),
      "dendrite.processor": processor,
      "dendrite.segment": segment,
      ...(event.token !== undefined ? { "dendrite.token": event.token } : {}),
      ...(event.aggregate
        ? { "dendrite.aggregate.type": event.aggregate.type, "dendrite.aggregate.id": event.aggregate.id }
        : {}),
    },
  }, handle);
}
