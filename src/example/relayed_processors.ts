/**
 * The projection thread's processors as seen from the main thread: one stand-in per processor the worker
 * reports, listed with soma (the dashboard shows it as in-process, with its dead letters and actions) and measured
 * by this process's metrics. A stand-in answers `status()` from the worker's last report and relays every action
 * to the worker.
 *
 * @module
 */
import type { DeadLetterSummary, ProcessorStatus, SequenceOutcome } from "../dendrite/mod.ts";
import type { MeasuredProcessor } from "../dendrite/observability/mod.ts";
import type { LocalProcessor } from "../soma/mod.ts";
import type { ProcessorCalls, ProcessorMethod, ReportedProcessor } from "./projection_thread_protocol.ts";

/** Relays a call to the worker and resolves with its result. */
export type RelayCall = <M extends ProcessorMethod>(
  processor: string,
  method: M,
  args: ProcessorCalls[M]["args"],
) => Promise<ProcessorCalls[M]["result"]>;

/** Where the stand-ins are listed. */
export interface RelayHosts {
  /** soma's status surface (the dashboard, its actions and dead letters). */
  readonly soma?: { registerProcessor(processor: LocalProcessor): () => void };
  /** This process's processor metrics. */
  readonly measured?: { track(processor: MeasuredProcessor): () => void };
}

/** A processor that runs in the worker, as the main thread lists and steers it. */
export class RelayedProcessor implements LocalProcessor, MeasuredProcessor {
  readonly name: string;
  #reported: ReportedProcessor;
  readonly #call: RelayCall;

  constructor(reported: ReportedProcessor, call: RelayCall) {
    this.name = reported.status.name;
    this.#reported = reported;
    this.#call = call;
  }

  /** The worker's last report. */
  status(): ProcessorStatus {
    return this.#reported.status;
  }

  report(reported: ReportedProcessor): void {
    this.#reported = reported;
  }

  start(): Promise<void> {
    return this.#call(this.name, "start", []);
  }

  stop(): Promise<void> {
    return this.#call(this.name, "stop", []);
  }

  split(segment: number): Promise<boolean> {
    return this.#call(this.name, "split", [segment]);
  }

  merge(segment: number): Promise<boolean> {
    return this.#call(this.name, "merge", [segment]);
  }

  release(segment: number): Promise<boolean> {
    return this.#call(this.name, "release", [segment]);
  }

  deadLetterSummary(limit?: number): Promise<DeadLetterSummary> {
    return this.#call(this.name, "deadLetterSummary", [limit]);
  }

  retrySequence(sequenceId: string): Promise<SequenceOutcome> {
    return this.#call(this.name, "retrySequence", [sequenceId]);
  }

  evictSequence(sequenceId: string): Promise<SequenceOutcome> {
    return this.#call(this.name, "evictSequence", [sequenceId]);
  }
}

/** The stand-ins of the processors the worker reports now. */
export class RelayedProcessors {
  readonly #hosts: RelayHosts;
  readonly #call: RelayCall;
  readonly #listed = new Map<string, { processor: RelayedProcessor; unlist: () => void }>();

  constructor(hosts: RelayHosts, call: RelayCall) {
    this.#hosts = hosts;
    this.#call = call;
  }

  /** Takes a report: new processors are listed, gone ones taken off, the others' statuses replaced. */
  update(reported: readonly ReportedProcessor[]): void {
    const names = new Set(reported.map((r) => r.status.name));
    for (const [name, entry] of this.#listed) {
      if (names.has(name)) continue;
      entry.unlist();
      this.#listed.delete(name);
    }
    for (const report of reported) {
      const listed = this.#listed.get(report.status.name);
      if (listed) listed.processor.report(report);
      else this.#list(new RelayedProcessor(report, this.#call));
    }
  }

  /** The stand-in of `name`, while the worker reports it. */
  get(name: string): RelayedProcessor | undefined {
    return this.#listed.get(name)?.processor;
  }

  #list(processor: RelayedProcessor): void {
    const unregister = this.#hosts.soma?.registerProcessor(processor);
    const untrack = this.#hosts.measured?.track(processor);
    this.#listed.set(processor.name, {
      processor,
      unlist: () => {
        unregister?.();
        untrack?.();
      },
    });
  }
}
