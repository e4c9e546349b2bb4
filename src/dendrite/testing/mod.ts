/**
 * Test fixtures: given/when/then for aggregates and projections, and a clock tests move by hand.
 *
 * @module
 */
export { type AggregateGiven, type AggregateOutcome, aggregateSpec } from "./aggregate_spec.ts";
export { projectionSpec, storedEvent } from "./projection_spec.ts";
export { ManualClock } from "./manual_clock.ts";
