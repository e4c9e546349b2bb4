/**
 * The port contracts against the Axon Server connector: connector → soma over real gRPC on loopback, or connector →
 * the Axon Server named by AXON_SERVER (`AXON_SERVER=localhost:8124 deno task test`).
 */
import { eventStoreContract } from "../contracts/event_store_contract.ts";
import { commandBusContract } from "../contracts/command_bus_contract.ts";
import { queryBusContract } from "../contracts/query_bus_contract.ts";
import { AXON_SERVER, connector, startServer } from "./fixture.ts";

const adapter = AXON_SERVER ? `connector → Axon Server ${AXON_SERVER}` : "connector → soma (gRPC)";
if (!AXON_SERVER) {
  console.log(
    "AXON_SERVER is not set: the connector contracts run against soma only (set it to also test Axon Server).",
  );
}

eventStoreContract(adapter, async () => {
  const server = await startServer();
  const axon = await connector(server);
  return {
    store: axon.eventStore,
    async close() {
      await axon.close();
      await server.close();
    },
  };
}, { shared: Boolean(AXON_SERVER), reportsTokens: false, idempotency: !AXON_SERVER });

commandBusContract(adapter, async () => {
  const server = await startServer();
  const [dispatcher, handler] = await Promise.all([
    connector(server, "dispatcher"),
    connector(server, "handler"),
  ]);
  return {
    dispatcher: dispatcher.commandBus,
    handler: handler.commandBus,
    async close() {
      await Promise.all([dispatcher.close(), handler.close()]);
      await server.close();
    },
  };
});

queryBusContract(adapter, async () => {
  const server = await startServer();
  const [dispatcher, handler, other] = await Promise.all([
    connector(server, "dispatcher"),
    connector(server, "handler"),
    connector(server, "other-component"),
  ]);
  return {
    dispatcher: dispatcher.queryBus,
    handler: handler.queryBus,
    otherComponent: other.queryBus,
    async close() {
      await Promise.all([dispatcher.close(), handler.close(), other.close()]);
      await server.close();
    },
  };
});
