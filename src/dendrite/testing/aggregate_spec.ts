/**
 * Given/when/then for aggregates: given past events, when a command, then the new events or a refusal.
 * Runs `decide` and `evolve` directly: no store, no bus, no I/O.
 *
 * @module
 */
import { type DescMessage, type Message, toJson } from "@bufbuild/protobuf";
import { AssertionError, deepStrictEqual } from "node:assert/strict";
import type { AggregateDefinition } from "../commands/aggregate.ts";
import { DomainError } from "../core/errors.ts";

/**
 * The outcome of `when`, to assert on.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { aggregateSpec } from "./mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import { GreetCommandSchema, RecordingStoppedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const outcome = aggregateSpec(Greeter)
 *   .given(create(RecordingStoppedEventSchema, { greeterId: "main" }))
 *   .when(create(GreetCommandSchema, { greeterId: "main", message: "hi" }));
 * const error = outcome.thenError("EX001", "not recording"); // or outcome.then(...events) for a success
 * ```
 */
export interface AggregateOutcome<S, E extends Message> {
  /** Asserts the exact events decided (in order); no arguments asserts that nothing happened. */
  then(...expected: E[]): S;
  /** Asserts a refusal with this domain error code (and, when given, a message containing `messagePart`). */
  thenError(code: string, messagePart?: string): DomainError;
}

/**
 * The aggregate after the given events.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { type AggregateGiven, aggregateSpec } from "./mod.ts";
 * import type { CommandOf, EventOf, StateOf } from "../mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * type G = typeof Greeter;
 * const greetedTwice: AggregateGiven<StateOf<G>, CommandOf<G>, EventOf<G>> = aggregateSpec(Greeter).given(
 *   create(GreetedEventSchema, { greeterId: "main", message: "a" }),
 *   create(GreetedEventSchema, { greeterId: "main", message: "b" }),
 * );
 * console.log(greetedTwice.state().greetingCount); // 2n
 * ```
 */
export interface AggregateGiven<S, C extends Message, E extends Message> {
  /** Decides `command` on the state after the given events. */
  when(command: C): AggregateOutcome<S, E>;
  /** The state after the given events. */
  state(): S;
}

function describe(schemas: readonly DescMessage[], message: Message): unknown {
  const schema = schemas.find((s) => s.typeName === message.$typeName);
  return { type: message.$typeName, value: schema ? toJson(schema, message) : "<unknown schema>" };
}

/**
 * Starts a spec for an aggregate definition.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { aggregateSpec } from "./aggregate_spec.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import * as domain from "../../gen/example/v1/domain_pb.ts";
 *
 * aggregateSpec(Greeter)
 *   .given(create(domain.RecordingStoppedEventSchema, { greeterId: "main" }))
 *   .when(create(domain.GreetCommandSchema, { greeterId: "main", message: "hi" }))
 *   .thenError("EX001");
 * ```
 */
export function aggregateSpec<S, C extends Message, E extends Message>(
  definition: AggregateDefinition<S, C, E>,
): { given(...events: E[]): AggregateGiven<S, C, E> } {
  return {
    given(...events: E[]) {
      const state = () => events.reduce((s, e) => definition.evolve(s, e), definition.initialState());
      return {
        state,
        when(command: C) {
          const before = state();
          let decided: readonly E[] | undefined;
          let refusal: DomainError | undefined;
          try {
            const decision = definition.decide(command, before);
            if (decision instanceof DomainError) refusal = decision;
            else decided = Array.isArray(decision) ? decision : [decision as E];
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            refusal = error;
          }
          return {
            then(...expected: E[]) {
              if (refusal) {
                throw new AssertionError({
                  message: `Expected events, but the command was refused: ${refusal.code} ${refusal.message}`,
                });
              }
              const schemas = definition.events;
              deepStrictEqual(
                decided!.map((e) => describe(schemas, e)),
                expected.map((e) => describe(schemas, e)),
              );
              return decided!.reduce((s, e) => definition.evolve(s, e), before);
            },
            thenError(code: string, messagePart?: string) {
              if (!refusal) {
                const got = decided!.map((e) => e.$typeName).join(", ") || "no events";
                throw new AssertionError({ message: `Expected a refusal with code ${code}, got ${got}` });
              }
              deepStrictEqual(refusal.code, code);
              if (messagePart !== undefined && !refusal.message.includes(messagePart)) {
                throw new AssertionError({
                  message:
                    `Expected the refusal message to contain "${messagePart}", got "${refusal.message}"`,
                });
              }
              return refusal;
            },
          };
        },
      };
    },
  };
}
