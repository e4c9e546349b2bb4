import { join } from "node:path";
import { assertEquals } from "../../../test/assert.ts";
import type { EventRecord, TrackedEventRecord } from "./event_store.ts";
import { SqliteEventStore } from "./sqlite.ts";

function event(n: number): EventRecord {
  return {
    id: `e-${n}`,
    timestamp: n,
    payload: { type: "test.Event", revision: "", data: new Uint8Array([n]) },
    metadata: {},
  };
}

async function take(stream: AsyncIterable<TrackedEventRecord>, count: number): Promise<number[]> {
  const tokens: number[] = [];
  for await (const record of stream) {
    tokens.push(record.token);
    if (tokens.length === count) break;
  }
  return tokens;
}

Deno.test("SqliteEventStore follow finds appends made through another connection by polling", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-follow-" });
  const path = join(dir, "events.sqlite");
  const writer = new SqliteEventStore({ path });
  const reader = new SqliteEventStore({ path, pollIntervalMs: 20 });
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(new Error("Timed out waiting for the follower")), 5_000);
  try {
    await writer.append([event(0)]);
    const stream = reader.stream({ from: 0, follow: true, signal: controller.signal })
      [Symbol.asyncIterator]();
    assertEquals((await stream.next()).value?.token, 0);
    // Asking for the next event runs the reader (synchronously) into its wait at the head; only the poll can
    // find what another connection appends now.
    const next = stream.next();
    await writer.append([event(1), event(2)]);
    assertEquals((await next).value?.token, 1);
    assertEquals(await take({ [Symbol.asyncIterator]: () => stream }, 1), [2]);
    // The in-process fast path still wakes at once, whatever the poll interval.
    const slow = new SqliteEventStore({ path, pollIntervalMs: 60_000 });
    try {
      const live = take(slow.stream({ from: 3, follow: true, signal: controller.signal }), 1);
      await slow.append([event(3)]);
      assertEquals(await live, [3]);
    } finally {
      slow.close();
    }
  } finally {
    clearTimeout(timeout);
    reader.close();
    writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteEventStore follow sees an append made while a page was handled and ends at once on abort", async () => {
  // Polling is off in effect: only the in-process wake-up (and the abort) can end a wait in time.
  const store = new SqliteEventStore({ path: ":memory:", pollIntervalMs: 60_000 });
  const guard = AbortSignal.timeout(5_000);
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, guard]);
  const pages: number[][] = [];
  try {
    await store.append([event(0), event(1)]);
    await (async () => {
      for await (const page of store.streamPages({ from: 0, follow: true, signal, pageSize: 10 })) {
        pages.push(page.map((r) => r.token));
        // Committed while the reader holds this page, before it waits for news.
        if (pages.length === 1) await store.append([event(2)]);
        // Aborted while holding the last page: the reader must not start a wait that only a poll ends.
        if (pages.length === 2) controller.abort();
      }
    })().catch((error) => {
      if (!controller.signal.aborted || guard.aborted) throw error;
    });
    assertEquals(guard.aborted, false);
    assertEquals(pages, [[0, 1], [2]]);
  } finally {
    store.close();
  }
});
