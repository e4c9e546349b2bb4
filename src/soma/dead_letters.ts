/**
 * Dead letters on soma's status surface: the counts and parked sequences of the in-process processors in
 * `GET /v1/processors` (an instance with dead letters reports `error: true`), and
 * `POST /v1/processors/{name}/dead-letters/{sequence}/{retry|evict}` to retry a parked sequence in order or to drop
 * its head (and then retry the events queued behind it).
 *
 * Processors in other processes report through Axon's `EventProcessorInfo`, which carries no dead letters: their
 * letters are managed where they run.
 *
 * @module
 */
import type { DeadLetterSummary, SequenceOutcome } from "../dendrite/mod.ts";

/** What a processor offers for its dead letters (dendrite's `TrackingProcessor` has all of it). */
export interface DeadLetterControl {
  deadLetterSummary(limit?: number): Promise<DeadLetterSummary>;
  retrySequence(sequenceId: string): Promise<SequenceOutcome>;
  evictSequence(sequenceId: string): Promise<SequenceOutcome>;
}

/** A dead-letter action. */
export type DeadLetterAction = "retry" | "evict";

/** The outcome of a dead-letter action: the sequence is released when no letter remains. */
export interface DeadLetterActionOutcome extends SequenceOutcome {
  readonly processor: string;
  readonly action: DeadLetterAction;
  readonly success: boolean;
}

/** True when a processor object offers dead-letter control. */
export function hasDeadLetters(processor: object): processor is DeadLetterControl {
  const control = processor as Partial<DeadLetterControl>;
  return typeof control.deadLetterSummary === "function" && typeof control.retrySequence === "function" &&
    typeof control.evictSequence === "function";
}

/** Adds `deadLetters` to the in-process instances of processors with dead-letter control. */
export async function withDeadLetters<
  V extends { readonly name: string; readonly instances: readonly I[] },
  I extends { readonly local: boolean; readonly error: boolean },
>(views: readonly V[], local: ReadonlyMap<string, object>): Promise<V[]> {
  const out: V[] = [];
  for (const view of views) {
    const processor = local.get(view.name);
    if (!processor || !hasDeadLetters(processor)) {
      out.push(view);
      continue;
    }
    const deadLetters = await processor.deadLetterSummary();
    const instances = view.instances.map((instance) =>
      instance.local ? { ...instance, error: instance.error || deadLetters.count > 0, deadLetters } : instance
    );
    out.push({ ...view, instances });
  }
  return out;
}

/** Runs a dead-letter action on an in-process processor; undefined when there is none with dead-letter control. */
export async function runDeadLetterAction(
  local: ReadonlyMap<string, object>,
  processor: string,
  sequenceId: string,
  action: DeadLetterAction,
): Promise<DeadLetterActionOutcome | undefined> {
  const target = local.get(processor);
  if (!target || !hasDeadLetters(target)) return undefined;
  const outcome = action === "retry"
    ? await target.retrySequence(sequenceId)
    : await target.evictSequence(sequenceId);
  return { ...outcome, processor, action, success: outcome.remaining === 0 };
}

/** The route `POST /v1/processors/{name}/dead-letters/{sequence}/{retry|evict}`, parsed; undefined otherwise. */
export function matchDeadLetterRoute(
  path: string,
): { processor: string; sequenceId: string; action: DeadLetterAction } | undefined {
  const match = /^\/v1\/processors\/([^/]+)\/dead-letters\/([^/]+)\/(retry|evict)$/.exec(path);
  if (!match) return undefined;
  return {
    processor: decodeURIComponent(match[1]),
    sequenceId: decodeURIComponent(match[2]),
    action: match[3] as DeadLetterAction,
  };
}
