/** The DcbEventStore contract against the in-memory and the SQLite store (a real file, reopened). */
import { join } from "node:path";
import { InMemoryDcbEventStore } from "../../src/dendrite/dcb/mod.ts";
import { SqliteDcbEventStore } from "../../src/dendrite/sqlite/mod.ts";
import { dcbEventStoreContract } from "./dcb_event_store_contract.ts";

dcbEventStoreContract("in-memory", () => {
  const store = new InMemoryDcbEventStore();
  return Promise.resolve({ store, close: () => Promise.resolve() });
});

dcbEventStoreContract("SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dcb-sqlite-" });
  const path = join(dir, "dcb.sqlite");
  let store = new SqliteDcbEventStore({ path });
  return {
    get store() {
      return store;
    },
    reopen() {
      store.close();
      store = new SqliteDcbEventStore({ path });
      return Promise.resolve(store);
    },
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});
