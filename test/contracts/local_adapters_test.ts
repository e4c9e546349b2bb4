/**
 * Runs the port contracts against the in-memory and SQLite adapters.
 */
import { join } from "node:path";
import { InMemoryDocumentStore, InMemoryEventStore, InMemoryTokenStore } from "../../src/dendrite/mod.ts";
import { SqliteDocumentStore, SqliteEventStore, SqliteTokenStore } from "../../src/dendrite/sqlite/mod.ts";
import { documentStoreContract } from "./document_store_contract.ts";
import { eventStoreContract } from "./event_store_contract.ts";
import { tokenStoreContract } from "./token_store_contract.ts";

eventStoreContract("in-memory", () => {
  const store = new InMemoryEventStore();
  return Promise.resolve({ store, close: () => Promise.resolve() });
}, { fullPages: true });

eventStoreContract("SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-es-" });
  const path = join(dir, "events.sqlite");
  let store = new SqliteEventStore({ path });
  return {
    get store() {
      return store;
    },
    reopen() {
      store.close();
      store = new SqliteEventStore({ path });
      return Promise.resolve(store);
    },
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}, { fullPages: true });

tokenStoreContract(
  "in-memory",
  (clock) => Promise.resolve({ store: new InMemoryTokenStore(clock), close: () => Promise.resolve() }),
);

tokenStoreContract("SQLite", async (clock) => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-ts-" });
  const store = new SqliteTokenStore({ path: join(dir, "tokens.sqlite") }, clock);
  return {
    store,
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

documentStoreContract(
  "in-memory",
  () => Promise.resolve({ store: new InMemoryDocumentStore(), close: () => Promise.resolve() }),
);

documentStoreContract("SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-ds-" });
  const store = new SqliteDocumentStore({ path: join(dir, "documents.sqlite") });
  return {
    store,
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});
