/**
 * The CommandBus and QueryBus contracts on the traced buses (wrapping the in-process ones). Tracing must be on:
 * `traced_buses_test.ts` runs this file with `OTEL_DENO=true`.
 */
import { LocalCommandBus, LocalQueryBus } from "../../src/dendrite/mod.ts";
import { tracedCommandBus, tracedQueryBus, tracing } from "../../src/dendrite/observability/mod.ts";
import { commandBusContract } from "./command_bus_contract.ts";
import { queryBusContract } from "./query_bus_contract.ts";

if (!tracing.enabled) {
  throw new Error("Run with OTEL_DENO=true: the traced buses are the plain ones when tracing is off");
}

commandBusContract("traced in-process", () => {
  const bus = tracedCommandBus(new LocalCommandBus());
  return Promise.resolve({ dispatcher: bus, handler: bus, close: () => Promise.resolve() });
});

queryBusContract("traced in-process", () => {
  const bus = tracedQueryBus(new LocalQueryBus());
  return Promise.resolve({ dispatcher: bus, handler: bus, close: () => Promise.resolve() });
});
