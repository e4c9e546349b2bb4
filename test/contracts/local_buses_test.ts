/**
 * Runs the CommandBus and QueryBus contracts against the in-process buses.
 */
import { LocalCommandBus, LocalQueryBus } from "../../src/dendrite/mod.ts";
import { commandBusContract } from "./command_bus_contract.ts";
import { queryBusContract } from "./query_bus_contract.ts";

commandBusContract("in-process", () => {
  const bus = new LocalCommandBus();
  return Promise.resolve({ dispatcher: bus, handler: bus, close: () => Promise.resolve() });
});

queryBusContract("in-process", () => {
  const bus = new LocalQueryBus();
  return Promise.resolve({ dispatcher: bus, handler: bus, close: () => Promise.resolve() });
});
