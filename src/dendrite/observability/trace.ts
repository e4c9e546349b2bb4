/**
 * Tracing: W3C trace context in message metadata and the spans dendrite makes, on `npm:@opentelemetry/api`.
 *
 * dendrite never sets up an exporter: the runtime's OpenTelemetry SDK does (on Deno, `OTEL_DENO=true` and the
 * standard `OTEL_*` variables). Tracing is ON when that SDK registered a propagator that writes `traceparent`
 * (Deno does so only with `OTEL_DENO=true`); otherwise every helper here is skipped by its callers, so tracing
 * off costs one boolean test per message.
 *
 * Trace context travels in metadata under `traceparent` and `tracestate`, the keys Axon Framework's
 * OpenTelemetry support uses, so a trace crosses soma, Axon Server and Java Axon applications. The metadata's
 * `trace_id` is set to the trace id too, for logs and tools that show metadata. A missing or malformed
 * `traceparent` is ignored: the receiving span then starts a new trace.
 *
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  type SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { type Envelope, type Metadata, MetadataKeys } from "../core/message.ts";

/**
 * Metadata keys of the W3C trace context (and Baggage, when the SDK propagates it).
 *
 * @example
 * ```ts
 * import { TraceKeys } from "./mod.ts";
 * import type { Metadata } from "../mod.ts";
 * const traceparentOf = (metadata: Metadata): string | undefined => {
 *   const value = metadata[TraceKeys.traceparent];
 *   return typeof value === "string" ? value : undefined;
 * };
 * ```
 */
export const TraceKeys = {
  traceparent: "traceparent",
  tracestate: "tracestate",
  baggage: "baggage",
} as const;

const TRACE_KEYS: readonly string[] = Object.values(TraceKeys);

/** The instrumentation scope of dendrite's spans. */
export const TRACER_NAME = "dendrite";

/**
 * Whether a tracing SDK is active (checked once, when this module loads).
 *
 * @example
 * ```ts
 * import { tracing } from "./trace.ts";
 * console.log(tracing.enabled); // false unless OTEL_DENO=true
 * ```
 */
export const tracing: { readonly enabled: boolean } = {
  enabled: propagation.fields().includes(TraceKeys.traceparent),
};

/** dendrite's tracer (a no-op one when no SDK is registered). */
export const tracer = trace.getTracer(TRACER_NAME);

/**
 * `metadata` plus the trace context of `ctx` (default: the active one): `traceparent`, `tracestate` and the
 * trace id as `trace_id`. Metadata without a span in `ctx` comes back unchanged.
 *
 * @example
 * ```ts
 * import { withTraceContext } from "./trace.ts";
 * // Inside an active span: { correlation_id, traceparent, trace_id }; outside one: unchanged.
 * const metadata = withTraceContext({ correlation_id: "c1" });
 * console.log(metadata.correlation_id);
 * ```
 */
export function withTraceContext(metadata: Metadata, ctx: Context = context.active()): Metadata {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return metadata;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const result: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(metadata)) if (!TRACE_KEYS.includes(key)) result[key] = value;
  return { ...result, ...carrier, [MetadataKeys.traceId]: spanContext.traceId };
}

/**
 * The context a message's metadata carries: the caller's span as a remote parent, or none (ROOT_CONTEXT).
 *
 * @example
 * ```ts
 * import { trace } from "@opentelemetry/api";
 * import { traceContextOf } from "./trace.ts";
 * const metadata = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
 * const span = trace.getTracer("example").startSpan("handle", {}, traceContextOf(metadata)); // a child
 * span.end();
 * ```
 */
export function traceContextOf(metadata: Metadata): Context {
  const carrier: Record<string, string> = {};
  for (const key of TRACE_KEYS) {
    const value = metadata[key];
    if (typeof value === "string") carrier[key] = value;
  }
  if (carrier[TraceKeys.traceparent] === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * The span context a message's metadata carries, when it carries a valid one (a malformed one counts as none).
 *
 * @example
 * ```ts
 * import { spanContextOf } from "./trace.ts";
 * console.log(spanContextOf({ traceparent: "00-not-a-trace-context-01" })); // undefined
 * ```
 */
export function spanContextOf(metadata: Metadata): SpanContext | undefined {
  const spanContext = trace.getSpanContext(traceContextOf(metadata));
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** How a span starts. */
export interface SpanStart {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  readonly links?: readonly Link[];
  /** The parent context (default: the active one). */
  readonly parent?: Context;
}

/**
 * Runs `work` inside a new span (the active span while it runs): the span records the error `work` throws and
 * ends when `work` settles.
 */
export async function inSpan<T>(
  name: string,
  start: SpanStart,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = start.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: start.kind, attributes: start.attributes, links: start.links ? [...start.links] : undefined },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** {@link inSpan} for synchronous work. */
export function inSpanSync<T>(name: string, start: SpanStart, work: (span: Span) => T): T {
  const parent = start.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: start.kind, attributes: start.attributes, links: start.links ? [...start.links] : undefined },
    parent,
  );
  try {
    return context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span as failed by `error`. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** A link to the span a message's metadata names (none when it names none). */
export function linksTo(metadata: Metadata): Link[] {
  const spanContext = spanContextOf(metadata);
  return spanContext ? [{ context: spanContext }] : [];
}

/** Span attributes naming a message. */
export function messageAttributes(kind: "command" | "query" | "event", message: Envelope): Attributes {
  const correlation = message.metadata[MetadataKeys.correlationId];
  return {
    "dendrite.message.kind": kind,
    "dendrite.message.name": message.payload.$typeName,
    "dendrite.message.id": message.id,
    ...(typeof correlation === "string" ? { "dendrite.correlation_id": correlation } : {}),
  };
}
