/**
 * Given/when/then for DCB decisions: given past events (stored with their tags in an in-memory DCB store, so the
 * decision's criteria really select them), when a command, then the events appended or a refusal.
 *
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";
import { AssertionError } from "node:assert/strict";
import { DomainError } from "../core/errors.ts";
import { type Decision, type DecisionEvent, handleDecision } from "./decision.ts";
import { InMemoryDcbEventStore } from "./memory.ts";

/**
 * The outcome of `when`, to assert on (async: the decision runs against a store).
 *
 * @example
 * ```ts
 * import { type DecisionOutcome, decisionSpec } from "../testing/mod.ts";
 * import { type EnrolmentEvent, subscribeStudent } from "../../example/enrolment/decisions.ts";
 * const outcome: DecisionOutcome<EnrolmentEvent> = decisionSpec(subscribeStudent)
 *   .given()
 *   .when({ courseId: "c1", studentId: "s1" });
 * await outcome.thenError("EN002"); // no such course
 * ```
 */
export interface DecisionOutcome<E> {
  /** Asserts the exact events appended (in order); no arguments asserts that nothing was appended. */
  thenEvents(...expected: E[]): Promise<void>;
  /** Asserts a refusal with this domain error code (and, when given, a message containing `messagePart`). */
  thenError(code: string, messagePart?: string): Promise<void>;
}

/**
 * Starts a spec for a decision. `given` takes events of any decision (they are stored with the tags of
 * `decision.tags`, or of `tagsOf` when given).
 *
 * @example
 * ```ts
 * import { decisionSpec } from "./decision_spec.ts";
 * import { subscribeStudent } from "../../example/enrolment/decisions.ts";
 * await decisionSpec(subscribeStudent)
 *   .given({ type: "CourseCreated", courseId: "c1", capacity: 1 })
 *   .when({ courseId: "c1", studentId: "s1" })
 *   .thenEvents({ type: "StudentSubscribed", courseId: "c1", studentId: "s1" });
 * ```
 */
export function decisionSpec<C, S, E extends DecisionEvent>(
  decision: Decision<C, S, E>,
): { given(...events: E[]): { when(command: C): DecisionOutcome<E> } } {
  return {
    given: (...events: E[]) => ({
      when(command: C): DecisionOutcome<E> {
        const run = async () => {
          const store = new InMemoryDcbEventStore();
          if (events.length > 0) {
            await store.append(
              events.map((e) => ({ event: decision.codec.encode(e), tags: decision.tags(e) })),
            );
          }
          return handleDecision(store, decision, command);
        };
        return {
          async thenEvents(...expected: E[]) {
            let result;
            try {
              result = await run();
            } catch (error) {
              throw new AssertionError({ message: `Expected events, but the decision failed: ${error}` });
            }
            deepStrictEqual(result.events, expected);
          },
          async thenError(code: string, messagePart?: string) {
            try {
              const result = await run();
              throw new AssertionError({
                message: `Expected refusal ${code}, but it decided ${JSON.stringify(result.events)}`,
              });
            } catch (error) {
              if (!(error instanceof DomainError)) throw error;
              if (error.code !== code) {
                throw new AssertionError({
                  message: `Expected refusal ${code}, got ${error.code}: ${error.message}`,
                });
              }
              if (messagePart !== undefined && !error.message.includes(messagePart)) {
                throw new AssertionError({ message: `Expected "${messagePart}" in "${error.message}"` });
              }
            }
          },
        };
      },
    }),
  };
}
