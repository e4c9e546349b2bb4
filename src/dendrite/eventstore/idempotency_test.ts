/**
 * Idempotency keys expire after the store's window, in memory and in a SQLite file (also across a reopen); the
 * stores get a test clock, so the window is exact.
 */
import { join } from "node:path";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import type { EventRecord, EventStore } from "./event_store.ts";
import { DuplicateCommandError, IDEMPOTENCY_KEY } from "./idempotency.ts";
import { InMemoryEventStore } from "./memory.ts";
import { SqliteEventStore } from "./sqlite.ts";

const WINDOW_MS = 60_000;

/** A clock the test moves. */
class TestClock {
  now = 1_000_000;
  readonly read = () => this.now;
}

function keyed(sequence: number, key: string): EventRecord {
  return {
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: "test.v1.Happened", revision: "", data: new Uint8Array([sequence]) },
    metadata: { [IDEMPOTENCY_KEY]: key },
    aggregate: { type: "test.v1.Thing", id: "a", sequence },
  };
}

async function expires(store: () => EventStore, clock: TestClock): Promise<void> {
  await store().append([keyed(0, "k")]);
  clock.now += WINDOW_MS - 1;
  await assertRejects(() => store().append([keyed(1, "k")]), DuplicateCommandError);
  clock.now += 1;
  await store().append([keyed(1, "k")]);
  assertEquals(await store().highestSequence("a"), 1);
}

Deno.test("idempotency: an in-memory key is forgotten after the window", async () => {
  const clock = new TestClock();
  const store = new InMemoryEventStore({ idempotencyWindowMs: WINDOW_MS, clock: clock.read });
  await expires(() => store, clock);
});

Deno.test("idempotency: a SQLite key is forgotten after the window, also in a reopened file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "idempotency-" });
  const path = join(dir, "events.sqlite");
  const clock = new TestClock();
  const open = () => new SqliteEventStore({ path, idempotencyWindowMs: WINDOW_MS, clock: clock.read });
  let store = open();
  try {
    await expires(() => store, clock);
    await store.append([keyed(2, "k2")]);
    store.close();
    store = open();
    clock.now += WINDOW_MS - 1;
    await assertRejects(() => store.append([keyed(3, "k2")]), DuplicateCommandError);
    clock.now += 1;
    await store.append([keyed(3, "k2")]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
