/**
 * Test fixtures: given/when/then for aggregates and projections.
 *
 * @module
 */
export { type AggregateGiven, type AggregateOutcome, aggregateSpec } from "./aggregate_spec.ts";
export { projectionSpec, storedEvent } from "./projection_spec.ts";
