/**
 * The DcbEventStore contract against soma: in-process (`startSoma(...).dcbEventStore`, reopened on the same data
 * directory) and through the connector's `AxonDcbEventStore` over gRPC (soma with an access token).
 */
import { AxonConnection, AxonDcbEventStore } from "../../src/dendrite/axon/mod.ts";
import type { DcbEventStore } from "../../src/dendrite/dcb/mod.ts";
import { type Soma, startSoma } from "../../src/soma/mod.ts";
import { dcbEventStoreContract } from "../contracts/dcb_event_store_contract.ts";

dcbEventStoreContract("soma in-process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-dcb-" });
  const open = () => startSoma({ dataDir: dir, port: 0, httpPort: false, heartbeatIntervalMs: 0 });
  let soma: Soma = await open();
  return {
    get store(): DcbEventStore {
      return soma.dcbEventStore;
    },
    async reopen() {
      await soma.close();
      soma = await open();
      return soma.dcbEventStore;
    },
    async close() {
      await soma.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

dcbEventStoreContract("connector → soma (gRPC)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-dcb-grpc-" });
  const token = crypto.randomUUID();
  const open = () =>
    startSoma({ dataDir: dir, port: 0, httpPort: false, heartbeatIntervalMs: 0, accessToken: token });
  const connect = (soma: Soma) =>
    AxonConnection.connect(
      {
        address: `127.0.0.1:${soma.port}`,
        componentName: "dcb-contract",
        token,
        onStateChange: () => {},
      },
      AbortSignal.timeout(20_000),
    );
  let soma = await open();
  let connection = await connect(soma);
  return {
    get store(): DcbEventStore {
      return new AxonDcbEventStore(connection);
    },
    async reopen() {
      await connection.close();
      await soma.close();
      soma = await open();
      connection = await connect(soma);
      return new AxonDcbEventStore(connection);
    },
    async close() {
      await connection.close();
      await soma.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});
