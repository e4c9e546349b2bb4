import { assert, assertEquals, assertThrows } from "../../../test/assert.ts";
import type { TrackedEventRecord } from "./event_store.ts";
import { RecentEvents } from "./recent_events.ts";

function tracked(token: number, bytes = 1): TrackedEventRecord {
  return {
    token,
    id: `e-${token}`,
    timestamp: token,
    payload: { type: "test.Event", revision: "", data: new Uint8Array(bytes) },
    metadata: { n: token },
    aggregate: { id: "a", type: "A", sequence: token },
  };
}

const tokens = (records: readonly TrackedEventRecord[] | undefined) => records?.map((record) => record.token);

Deno.test("RecentEvents answers reads inside its run, and nothing outside it", () => {
  const recent = new RecentEvents({ maxEvents: 10, maxBytes: 1_000 });
  assertEquals(recent.read(0, 5), undefined);
  recent.committed([tracked(3), tracked(4), tracked(5)]);
  assertEquals(tokens(recent.read(3, 10)), [3, 4, 5]);
  assertEquals(tokens(recent.read(4, 1)), [4]);
  assertEquals(recent.read(2, 10), undefined, "older than the run: from the file");
  assertEquals(recent.read(6, 10), undefined, "at the head: the file may hold events from elsewhere");
});

Deno.test("RecentEvents drops the oldest beyond its event count and its payload bytes", () => {
  const byCount = new RecentEvents({ maxEvents: 3, maxBytes: 1_000 });
  for (let token = 0; token < 10; token++) byCount.committed([tracked(token)]);
  assertEquals(byCount.read(6, 10), undefined);
  assertEquals(tokens(byCount.read(7, 10)), [7, 8, 9]);

  const byBytes = new RecentEvents({ maxEvents: 100, maxBytes: 250 });
  byBytes.committed([tracked(0, 100), tracked(1, 100), tracked(2, 100)]);
  assertEquals(byBytes.read(0, 10), undefined);
  assertEquals(tokens(byBytes.read(1, 10)), [1, 2]);
  // One event larger than the whole bound is not kept at all.
  byBytes.committed([tracked(3, 300)]);
  assertEquals(byBytes.read(3, 10), undefined);
  byBytes.committed([tracked(4, 10)]);
  assertEquals(tokens(byBytes.read(4, 10)), [4]);

  const none = new RecentEvents({ maxEvents: 0, maxBytes: 0 });
  none.committed([tracked(0)]);
  assertEquals(none.read(0, 10), undefined);
});

Deno.test("RecentEvents starts a new run after a gap (events another process appended in between)", () => {
  const recent = new RecentEvents({ maxEvents: 10, maxBytes: 1_000 });
  recent.committed([tracked(0), tracked(1)]);
  recent.committed([tracked(5)]);
  assertEquals(recent.read(0, 10), undefined);
  assertEquals(recent.read(2, 10), undefined);
  assertEquals(tokens(recent.read(5, 10)), [5]);
});

Deno.test("RecentEvents hands every reader the same frozen record", () => {
  const recent = new RecentEvents({ maxEvents: 10, maxBytes: 1_000 });
  recent.committed([tracked(0)]);
  const [first] = recent.read(0, 1)!;
  const [second] = recent.read(0, 1)!;
  assert(first === second, "one shared record, not a copy per reader");
  assert(Object.isFrozen(first) && Object.isFrozen(first.payload) && Object.isFrozen(first.metadata));
  assert(Object.isFrozen(first.aggregate));
  const error = assertThrows(() => {
    (first.metadata as Record<string, unknown>).n = 99;
  });
  assert(error instanceof TypeError, String(error));
});

Deno.test("RecentEvents stays bounded and correct over a long run of small commits", () => {
  const recent = new RecentEvents({ maxEvents: 64, maxBytes: 1_000_000 });
  for (let token = 0; token < 10_000; token++) recent.committed([tracked(token)]);
  assertEquals(recent.read(9_935, 1), undefined);
  assertEquals(tokens(recent.read(9_936, 100))?.length, 64);
  assertEquals(tokens(recent.read(9_999, 100)), [9_999]);
});
