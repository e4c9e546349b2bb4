/**
 * The processors a connection manages for the server: the server's processor instructions (pause, start, split,
 * merge, release) applied in order per processor, off the platform stream's read loop, and the `EventProcessorInfo`
 * each processor reports.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type EventProcessorInfo,
  EventProcessorInfo_SegmentStatusSchema,
  EventProcessorInfoSchema,
} from "../../gen/axon/control_pb.ts";
import type { ProcessorStatus } from "../processing/processor.ts";

/**
 * A processor the server may control (pause, start, split, merge, release) and that reports its status.
 *
 * @example
 * ```ts
 * import type { ManagedProcessor } from "./managed_processors.ts";
 * const processor: ManagedProcessor = {
 *   name: "greetings",
 *   status: () => ({
 *     name: "greetings",
 *     owner: "node-1",
 *     mode: "Tracking",
 *     running: true,
 *     error: false,
 *     claimLimit: 1,
 *     members: 1,
 *     deadLettered: 0,
 *     errors: 0,
 *     segments: [],
 *   }),
 *   pause: () => Promise.resolve(),
 * };
 * console.log(processor.name);
 * ```
 */
export interface ManagedProcessor {
  /** The processor's name, as the server shows it. */
  readonly name: string;
  /** The status reported to the server. */
  status(): ProcessorStatus;
  /** Pauses processing (a server instruction). */
  pause?(): Promise<unknown>;
  /** Starts processing again (a server instruction). */
  start?(): Promise<unknown>;
  /** Splits `segment` in two (a server instruction). */
  split?(segment: number): Promise<unknown>;
  /** Merges `segment` with its sibling (a server instruction). */
  merge?(segment: number): Promise<unknown>;
  /** Releases the claim on `segment` (a server instruction). */
  release?(segment: number): Promise<unknown>;
}

/**
 * The server's instructions for one processor (the `request` cases of `PlatformOutboundInstruction`).
 *
 * @example
 * ```ts
 * import type { ProcessorAction } from "./managed_processors.ts";
 * const action: ProcessorAction = "mergeEventProcessorSegment";
 * console.log(action);
 * ```
 */
export type ProcessorAction =
  | "pauseEventProcessor"
  | "startEventProcessor"
  | "releaseSegment"
  | "splitEventProcessorSegment"
  | "mergeEventProcessorSegment";

/** The processors registered on one connection. */
export class ManagedProcessors {
  readonly #processors = new Map<string, ManagedProcessor>();
  /** Per processor: the tail of its instructions still running (they run off the read loop, in order). */
  readonly #instructions = new Map<string, Promise<void>>();

  /** Registers `processor`; returns a function that removes it. */
  register(processor: ManagedProcessor): () => void {
    this.#processors.set(processor.name, processor);
    return () => this.#processors.delete(processor.name);
  }

  /** The processor called `name`, if registered. */
  get(name: string): ManagedProcessor | undefined {
    return this.#processors.get(name);
  }

  /** Every registered processor. */
  all(): Iterable<ManagedProcessor> {
    return this.#processors.values();
  }

  /**
   * Applies `action` to the processor `name` after that processor's earlier instructions (each processor's
   * instructions stay in order), then calls `done` with `undefined` or the error. Returns at once.
   */
  control(name: string, action: ProcessorAction, segment: number, done: (error?: unknown) => void): void {
    this.#inOrder(name, async () => {
      try {
        const processor = this.#processors.get(name);
        if (!processor) throw new Error(`Unknown processor "${name}"`);
        const outcome = await apply(processor, action, segment);
        if (outcome === false) throw new Error(`"${action}" of "${name}" segment ${segment} was refused`);
        done();
      } catch (error) {
        done(error);
      }
    });
  }

  #inOrder(processor: string, work: () => Promise<void>): void {
    const next = (this.#instructions.get(processor) ?? Promise.resolve()).then(work);
    this.#instructions.set(processor, next);
    void next.finally(() => {
      if (this.#instructions.get(processor) === next) this.#instructions.delete(processor);
    });
  }
}

function apply(processor: ManagedProcessor, action: ProcessorAction, segment: number): Promise<unknown> {
  const missing = () => Promise.reject(new Error(`Processor "${processor.name}" does not support ${action}`));
  switch (action) {
    case "pauseEventProcessor":
      return processor.pause?.() ?? missing();
    case "startEventProcessor":
      return processor.start?.() ?? missing();
    case "releaseSegment":
      return processor.release?.(segment) ?? missing();
    case "splitEventProcessorSegment":
      return processor.split?.(segment) ?? missing();
    case "mergeEventProcessorSegment":
      return processor.merge?.(segment) ?? missing();
  }
}

/** The `EventProcessorInfo` the server is told about `processor`. */
export function processorInfo(processor: ManagedProcessor): EventProcessorInfo {
  const status = processor.status();
  return create(EventProcessorInfoSchema, {
    processorName: status.name,
    mode: "Tracking",
    running: status.running,
    activeThreads: status.segments.length,
    availableThreads: Math.max(0, 16 - status.segments.length),
    tokenStoreIdentifier: status.name,
    error: status.segments.some((s) => s.error !== undefined),
    segmentStatus: status.segments.map((s) =>
      create(EventProcessorInfo_SegmentStatusSchema, {
        segmentId: s.segment,
        onePartOf: s.onePartOf,
        tokenPosition: BigInt(Math.max(0, s.position)),
        replaying: s.replaying,
        caughtUp: s.caughtUp,
        errorState: s.error ?? "",
      })
    ),
  });
}
