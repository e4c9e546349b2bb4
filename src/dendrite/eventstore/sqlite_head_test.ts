import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { DurableHead } from "./durable_head.ts";
import type { EventRecord, TrackedEventRecord } from "./event_store.ts";
import { SqliteEventStore } from "./sqlite.ts";

function events(from: number, count: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `e-${from + i}`,
    timestamp: from + i,
    payload: { type: "test.Event", revision: "", data: new Uint8Array([from + i]) },
    metadata: {},
  }));
}

function tokensOf(result: IteratorResult<readonly TrackedEventRecord[]>): number[] {
  return result.done ? [] : result.value.map((record) => record.token);
}

async function tempPath(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "dendrite-head-" }), "events.sqlite");
}

Deno.test("DurableHead: moves only forward, wakes a waiter, and a waiter can be aborted", async () => {
  const head = new DurableHead();
  assertEquals(head.get(), -1);
  const view = new DurableHead(head.buffer);
  const woken = view.waitBeyond(4);
  head.publish(3);
  head.publish(7);
  head.publish(5); // behind: ignored
  assertEquals(await woken, 7);
  assertEquals(view.get(), 7);
  assertEquals(await view.waitBeyond(6), 7); // already past: at once
  const abort = new AbortController();
  const waiting = view.waitBeyond(7, abort.signal);
  abort.abort();
  await assertRejects(() => waiting, DOMException);
});

Deno.test("SqliteEventStore publishes its durable head at open and by the time each append is confirmed", async () => {
  const path = await tempPath();
  const first = new SqliteEventStore({ path });
  await first.append(events(0, 3));
  first.close();
  const head = new DurableHead();
  const store = new SqliteEventStore({ path, synchronous: "FULL", publishHead: head });
  try {
    assertEquals(head.get(), 2);
    for (let i = 0; i < 5; i++) {
      const appended = store.append(events(3 + i * 2, 2));
      assertEquals(head.get(), 2 + i * 2); // not before the commit is durable
      const { lastToken } = await appended;
      assertEquals(head.get(), lastToken);
    }
  } finally {
    store.close();
  }
});

Deno.test("A reader bounded by a durable head never reads past it, however much the file holds", async () => {
  const path = await tempPath();
  // This writer publishes nothing: what it commits stands for events committed but not yet durable.
  const writer = new SqliteEventStore({ path });
  const head = new DurableHead();
  const reader = new SqliteEventStore({ path, readUpTo: head });
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(new Error("timed out")), 10_000);
  try {
    await writer.append(events(0, 10));
    assertEquals(await reader.lastToken(), -1);
    const pages = reader.streamPages({ from: 0, follow: true, signal: abort.signal })[Symbol.asyncIterator]();
    const first = pages.next();
    head.publish(3);
    assertEquals(tokensOf(await first), [0, 1, 2, 3]);
    assertEquals(await reader.lastToken(), 3);
    // The follower sleeps at the head although the file holds 6 more events: nothing arrives until it moves.
    const second = pages.next();
    const early = await Promise.race([
      second.then(() => "read"),
      new Promise((r) => setTimeout(r, 300, "waiting")),
    ]);
    assertEquals(early, "waiting");
    head.publish(9);
    assertEquals(tokensOf(await second), [4, 5, 6, 7, 8, 9]);
    // A stream that does not follow stops at the head too.
    await writer.append(events(10, 5));
    const all: number[] = [];
    for await (const page of reader.streamPages({ from: 0 })) all.push(...page.map((r) => r.token));
    assertEquals(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    clearTimeout(deadline);
    abort.abort();
    reader.close();
    writer.close();
  }
});

Deno.test("Readers of one bounded store share the events read near the head", async () => {
  const path = await tempPath();
  const writer = new SqliteEventStore({ path });
  const head = new DurableHead();
  const reader = new SqliteEventStore({ path, readUpTo: head });
  try {
    head.publish((await writer.append(events(0, 8))).lastToken);
    const read = async () => {
      const records = [];
      for await (const record of reader.stream({ from: 0 })) records.push(record);
      return records;
    };
    const [a, b] = [await read(), await read()];
    assertEquals(a.map((r) => r.token), [0, 1, 2, 3, 4, 5, 6, 7]);
    // The second reader got the first one's records (one decoded, frozen copy), not the rows again.
    assert(a.every((record, i) => record === b[i] && Object.isFrozen(record)));
  } finally {
    reader.close();
    writer.close();
  }
});

Deno.test("A worker thread follows the file up to the head another thread publishes", async () => {
  const path = await tempPath();
  const head = new DurableHead();
  const store = new SqliteEventStore({ path, synchronous: "FULL", publishHead: head });
  const worker = new Worker(new URL("../../../test/fixtures/head_reader_worker.ts", import.meta.url), {
    type: "module",
  });
  const seen: number[] = [];
  let reached = Promise.withResolvers<void>();
  let want = 0;
  const stopped = Promise.withResolvers<void>();
  worker.onmessage = (event: MessageEvent<number[] | "stopped">) => {
    if (event.data === "stopped") return stopped.resolve();
    seen.push(...event.data);
    if (seen.length >= want) reached.resolve();
  };
  try {
    worker.postMessage({ path, head: head.buffer });
    for (let round = 0; round < 20; round++) {
      want += 5;
      reached = Promise.withResolvers<void>();
      const { lastToken } = await store.append(events(round * 5, 5));
      await reached.promise;
      // Never more than what was confirmed so far.
      assertEquals(seen.at(-1), lastToken);
    }
    assertEquals(seen, Array.from({ length: 100 }, (_, i) => i));
    worker.postMessage("stop");
    await stopped.promise;
  } finally {
    worker.terminate();
    store.close();
  }
});
