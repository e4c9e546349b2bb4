/**
 * Segment arithmetic of the Axon Framework, reproduced exactly so that TypeScript and Java processors can share
 * a token store: a segment is `{ id, mask }`, an event belongs to it when `(hash & mask) === id`, where `hash` is
 * Java's `String.hashCode` of the sequence identifier (the aggregate id, else the event id).
 *
 * @module
 */

/**
 * A processor segment. The root segment is `{ id: 0, mask: 0 }`.
 *
 * @example
 * ```ts
 * import { ROOT_SEGMENT, type Segment } from "../mod.ts";
 * // After one split of the root segment, each half takes the events whose sequence hash ends in its bit:
 * const halves: Segment[] = [{ id: 0, mask: 1 }, { id: 1, mask: 1 }];
 * console.log(ROOT_SEGMENT.mask, halves.map((segment) => segment.id)); // 0 [0, 1]
 * ```
 */
export interface Segment {
  /** The segment's id. */
  readonly id: number;
  /** The segment's mask: an event belongs to it when `hash & mask === id`. */
  readonly mask: number;
}

/**
 * The root segment: everything.
 *
 * @example
 * ```ts
 * import { ROOT_SEGMENT } from "./segment.ts";
 * console.log(ROOT_SEGMENT); // { id: 0, mask: 0 }: every event
 * ```
 */
export const ROOT_SEGMENT: Segment = { id: 0, mask: 0 };

/** Java's `String.hashCode` (UTF-16 code units, 32-bit signed). */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Whether a sequence identifier belongs to the segment. */
export function segmentMatches(segment: Segment, sequenceId: string): boolean {
  return segment.mask === 0 || (javaStringHash(sequenceId) & segment.mask) === segment.id;
}

/** Splits a segment into two halves. */
export function splitSegment(segment: Segment): [Segment, Segment] {
  const mask = (segment.mask << 1) + 1;
  const sibling = segment.id + (segment.mask === 0 ? 1 : mask ^ segment.mask);
  return [{ id: segment.id, mask }, { id: sibling, mask }];
}

/** The id of the segment this one merges with. */
export function mergeableSegmentId(segment: Segment): number {
  return segment.id ^ (segment.mask ^ (segment.mask >>> 1));
}

/** The merged segment of two siblings. */
export function mergeSegments(a: Segment, b: Segment): Segment {
  return { id: Math.min(a.id, b.id), mask: a.mask >>> 1 };
}

/** Derives a segment's mask from the set of segment ids that exist (the token store only keeps ids). */
export function computeSegment(id: number, allIds: readonly number[]): Segment {
  const ids = new Set(allIds);
  let candidate = id === 0 ? 1 : highestOneBit(id) << 1;
  while (ids.has(candidate | id)) candidate <<= 1;
  return { id, mask: candidate - 1 };
}

function highestOneBit(n: number): number {
  return n === 0 ? 0 : 1 << (31 - Math.clz32(n));
}
