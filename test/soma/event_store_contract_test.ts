/**
 * The EventStore contract against soma in-process (`startSoma(...).eventStore`), including a reopen of the same
 * data directory.
 */
import type { EventStore } from "../../src/dendrite/mod.ts";
import { type Soma, startSoma } from "../../src/soma/mod.ts";
import { eventStoreContract } from "../contracts/event_store_contract.ts";

eventStoreContract("soma in-process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-contract-" });
  const open = () => startSoma({ dataDir: dir, port: 0, httpPort: false, heartbeatIntervalMs: 0 });
  let soma: Soma = await open();
  return {
    get store(): EventStore {
      return soma.eventStore;
    },
    async reopen() {
      await soma.close();
      soma = await open();
      return soma.eventStore;
    },
    async close() {
      await soma.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}, { fullPages: true });
