/**
 * Idempotency keys expire after the store's window, in memory and in a SQLite file (also across a reopen).
 */
import { join } from "node:path";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import type { EventRecord, EventStore } from "./event_store.ts";
import { DuplicateCommandError, IDEMPOTENCY_KEY } from "./idempotency.ts";
import { InMemoryEventStore } from "./memory.ts";
import { SqliteEventStore } from "./sqlite.ts";

const WINDOW_MS = 40;

function keyed(sequence: number, key: string): EventRecord {
  return {
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: "test.v1.Happened", revision: "", data: new Uint8Array([sequence]) },
    metadata: { [IDEMPOTENCY_KEY]: key },
    aggregate: { type: "test.v1.Thing", id: "a", sequence },
  };
}

/** Waits until the window of a key stored at `storedAt` is over (the condition is the clock itself). */
async function windowOver(storedAt: number): Promise<void> {
  while (Date.now() <= storedAt + WINDOW_MS) {
    await new Promise((resolve) => setTimeout(resolve, storedAt + WINDOW_MS + 1 - Date.now()));
  }
}

async function expires(store: () => EventStore): Promise<void> {
  const storedAt = Date.now();
  await store().append([keyed(0, "k")]);
  await assertRejects(() => store().append([keyed(1, "k")]), DuplicateCommandError);
  await windowOver(storedAt);
  await store().append([keyed(1, "k")]);
  assertEquals(await store().highestSequence("a"), 1);
}

Deno.test("idempotency: an in-memory key is forgotten after the window", async () => {
  const store = new InMemoryEventStore({ idempotencyWindowMs: WINDOW_MS });
  await expires(() => store);
});

Deno.test("idempotency: a SQLite key is forgotten after the window, also in a reopened file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "idempotency-" });
  const path = join(dir, "events.sqlite");
  let store = new SqliteEventStore({ path, idempotencyWindowMs: WINDOW_MS });
  try {
    await expires(() => store);
    const storedAt = Date.now();
    await store.append([keyed(2, "k2")]);
    store.close();
    store = new SqliteEventStore({ path, idempotencyWindowMs: WINDOW_MS });
    await assertRejects(() => store.append([keyed(3, "k2")]), DuplicateCommandError);
    await windowOver(storedAt);
    await store.append([keyed(3, "k2")]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
