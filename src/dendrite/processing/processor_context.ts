/**
 * What the parts of a tracking processor share: its projection and options, its claim owner id, its clock, the
 * decoding of events, error reporting and the progress notifier behind `changed()`.
 *
 * @module
 */
import { traceEventHandling } from "../observability/event_tracing.ts";
import { tracing } from "../observability/trace.ts";
import { Notifier } from "../core/async.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import type { EventMessage } from "../core/message.ts";
import type { TrackedEventRecord } from "../eventstore/event_store.ts";
import type { ProcessorOptions } from "./processor_options.ts";
import type { Projection } from "./projection.ts";

/** The shared state and services of one processor instance. */
export class ProcessorContext {
  readonly projection: Projection;
  readonly options: ProcessorOptions;
  readonly owner: string;
  readonly clock: Clock;
  /** Notified at every change of progress or ownership. */
  readonly progress: Notifier = new Notifier();
  readonly #handled: Set<string>;
  #errors = 0;

  constructor(projection: Projection, options: ProcessorOptions) {
    this.projection = projection;
    this.options = options;
    this.owner = options.owner ?? crypto.randomUUID();
    this.clock = options.clock ?? systemClock;
    this.#handled = new Set(projection.events.map((schema) => schema.typeName));
    for (const schema of projection.events) options.registry.add(schema);
  }

  get name(): string {
    return this.projection.name;
  }

  get claimTimeoutMs(): number {
    return this.options.claimTimeoutMs ?? 10_000;
  }

  get claimIntervalMs(): number {
    return this.options.claimIntervalMs ?? Math.max(50, Math.floor(this.claimTimeoutMs / 3));
  }

  /** True when the projection handles events of this payload type. */
  handles(record: TrackedEventRecord): boolean {
    return this.#handled.has(record.payload.type);
  }

  /** Hands one event to the projection (decoded through the registry, so upcasters apply; traced when tracing is on). */
  async handle(
    record: TrackedEventRecord,
    replaying: boolean,
    signal: AbortSignal,
    segment = -1,
  ): Promise<void> {
    const event = this.#decode(record);
    const handle = () => this.projection.handle(event, { signal, replaying });
    await (tracing.enabled ? traceEventHandling(this.name, segment, event, handle) : handle());
  }

  /** Errors reported since the processor was created (each failed attempt, outages included). */
  get errors(): number {
    return this.#errors;
  }

  /** Reports an error to `onError` (default console.error); processing goes on. */
  report(error: unknown, segment: number, token: number): void {
    this.#errors++;
    const where = { processor: this.name, segment, token };
    if (this.options.onError) this.options.onError(error, where);
    else console.error(`Processor "${this.name}" segment ${segment} at token ${token}:`, error);
  }

  #decode(record: TrackedEventRecord): EventMessage {
    return {
      id: record.id,
      payload: this.options.registry.decode(record.payload),
      metadata: record.metadata,
      timestamp: record.timestamp,
      aggregate: record.aggregate,
      token: record.token,
    };
  }
}

/** The sequence identifier of an event: its aggregate id, else its own id (Axon's default policy). */
export function sequenceIdOf(
  record: { readonly id: string; readonly aggregate?: { readonly id: string } },
): string {
  return record.aggregate?.id ?? record.id;
}
