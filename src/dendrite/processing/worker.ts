/**
 * A segment worker's state inside the tracking processor, and the tracking token that state stands for.
 *
 * @module
 */
import type { Segment } from "./segment.ts";
import type { TrackingToken } from "./token_store.ts";

/** One claimed segment being processed. */
export interface Worker {
  segment: Segment;
  readonly controller: AbortController;
  position: number;
  stored: number;
  head: number;
  caughtUp: boolean;
  replayUntil?: number;
  mergedUpper?: number;
  mergedUpperSegment?: Segment;
  error?: string;
  flushTimer?: ReturnType<typeof setTimeout>;
  flushing: Promise<void>;
  done: Promise<void>;
}

/** The token of the worker at `position` (its replay and merge bounds while they still lie ahead). */
export function tokenOf(worker: Worker, position: number = worker.position): TrackingToken {
  return {
    index: position,
    ...(worker.replayUntil !== undefined && position < worker.replayUntil
      ? { replayUntil: worker.replayUntil }
      : {}),
    ...(worker.mergedUpper !== undefined && worker.mergedUpperSegment && position < worker.mergedUpper
      ? {
        mergedUpper: worker.mergedUpper,
        mergedUpperSegment: worker.mergedUpperSegment.id,
        mergedUpperMask: worker.mergedUpperSegment.mask,
      }
      : {}),
  };
}

/** Notes a token as committed. */
export function markStored(worker: Worker, token: TrackingToken): void {
  worker.stored = Math.max(worker.stored, token.index);
  if (token.replayUntil === undefined) worker.replayUntil = undefined;
}
