/**
 * Axon's segment operations on a running processor instance: split a held segment into two halves at the same
 * token, and merge a held segment with its sibling (claiming the sibling too). Both run inside the coordinator's
 * {@link Coordinator.exclusive} so no round interleaves.
 *
 * @module
 */
import type { Coordinator } from "./coordinator.ts";
import type { ProcessorContext } from "./processor_context.ts";
import { computeSegment, mergeableSegmentId, mergeSegments, splitSegment } from "./segment.ts";
import type { TrackingToken } from "./token_store.ts";

/** Splits a held segment; this instance keeps the lower half, the upper one is left unclaimed. */
export async function splitHeld(
  context: ProcessorContext,
  coordinator: Coordinator,
  segmentId: number,
  signal: AbortSignal,
): Promise<boolean> {
  const worker = coordinator.workers.get(segmentId);
  if (!worker) return false;
  await coordinator.retire(worker, false, true);
  const { options: { tokenStore }, name, owner } = context;
  const segment = computeSegment(segmentId, await tokenStore.segments(name));
  const [keep, sibling] = splitSegment(segment);
  const token = worker.token();
  await tokenStore.store(name, segmentId, owner, token);
  await tokenStore.initializeSegment(name, sibling.id, token);
  coordinator.segmentCount++;
  coordinator.startWorker(keep, token, signal);
  return true;
}

/**
 * Merges a held segment with its sibling. False when the segment has no mergeable sibling or another instance
 * holds the sibling (then the stopped worker is resumed).
 */
export async function mergeHeld(
  context: ProcessorContext,
  coordinator: Coordinator,
  segmentId: number,
  signal: AbortSignal,
): Promise<boolean> {
  const { options: { tokenStore }, name, owner } = context;
  const ids = await tokenStore.segments(name);
  const segment = computeSegment(segmentId, ids);
  if (segment.mask === 0) return false;
  const otherId = mergeableSegmentId(segment);
  if (!ids.includes(otherId) || computeSegment(otherId, ids).mask !== segment.mask) return false;
  const tokens = await takeBoth(context, coordinator, ids, [segmentId, otherId], signal);
  if (!tokens) return false;
  const merged = mergeSegments(segment, { id: otherId, mask: segment.mask });
  const token = mergedToken(tokens, segmentId, otherId, segment.mask);
  await tokenStore.deleteSegment(name, merged.id === segmentId ? otherId : segmentId, owner);
  await tokenStore.store(name, merged.id, owner, token);
  coordinator.segmentCount--;
  coordinator.startWorker(merged, token, signal);
  return true;
}

/** Stops or claims both halves and returns their tokens; undefined (and resumes what it stopped) when one is taken. */
async function takeBoth(
  context: ProcessorContext,
  coordinator: Coordinator,
  ids: readonly number[],
  pair: readonly number[],
  signal: AbortSignal,
): Promise<Map<number, TrackingToken> | undefined> {
  const { options: { tokenStore }, name, owner } = context;
  const tokens = new Map<number, TrackingToken>();
  for (const id of pair) {
    const worker = coordinator.workers.get(id);
    if (worker) {
      await coordinator.retire(worker, false, true);
      tokens.set(id, worker.token());
      continue;
    }
    const token = await tokenStore.claim(name, id, owner, context.claimTimeoutMs);
    if (!token) {
      // The sibling belongs to someone else: resume what was stopped.
      for (const [held, t] of tokens) coordinator.startWorker(computeSegment(held, ids), t, signal);
      return undefined;
    }
    tokens.set(id, token);
  }
  return tokens;
}

/**
 * The merged segment's token: it continues from the less advanced half and skips, up to the more advanced
 * half's position, the events that half already handled.
 */
function mergedToken(
  tokens: ReadonlyMap<number, TrackingToken>,
  segmentId: number,
  otherId: number,
  mask: number,
): TrackingToken {
  const [lowerId, upperId] = tokens.get(segmentId)!.index <= tokens.get(otherId)!.index
    ? [segmentId, otherId]
    : [otherId, segmentId];
  const lower = tokens.get(lowerId)!;
  const upper = tokens.get(upperId)!;
  const replayUntil = Math.max(lower.replayUntil ?? -1, upper.replayUntil ?? -1);
  return {
    index: lower.index,
    ...(replayUntil > lower.index ? { replayUntil } : {}),
    ...(upper.index > lower.index
      ? { mergedUpper: upper.index, mergedUpperSegment: upperId, mergedUpperMask: mask }
      : {}),
  };
}
