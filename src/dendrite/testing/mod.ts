/**
 * Test fixtures: given/when/then for aggregates, projections and DCB decisions, and a clock tests move by hand.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { aggregateSpec } from "./mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import {
 *   RecordCommandSchema,
 *   RecordingStartedEventSchema,
 *   RecordingStoppedEventSchema,
 * } from "../../gen/example/v1/domain_pb.ts";
 *
 * aggregateSpec(Greeter)
 *   .given(create(RecordingStoppedEventSchema, { greeterId: "main" }))
 *   .when(create(RecordCommandSchema, { greeterId: "main" }))
 *   .then(create(RecordingStartedEventSchema, { greeterId: "main" }));
 * ```
 *
 * @module
 */
export { type AggregateGiven, type AggregateOutcome, aggregateSpec } from "./aggregate_spec.ts";
export { projectionSpec, storedEvent } from "./projection_spec.ts";
export { type DecisionOutcome, decisionSpec } from "../dcb/decision_spec.ts";
export { ManualClock } from "./manual_clock.ts";
