/**
 * The EventStore contract: one suite, run against every adapter (in-memory, SQLite, soma in-process,
 * connector → soma over gRPC, and connector → Axon Server when AXON_SERVER is set).
 *
 * @module
 */
import { contractSuite } from "./suite.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  ConcurrencyError,
  type EventRecord,
  type EventStore,
  IDEMPOTENCY_KEY,
  type TrackedEventRecord,
} from "../../src/dendrite/mod.ts";
import { duplicateOutcome } from "../../src/dendrite/eventstore/idempotency.ts";
import { streamPagesOf } from "../../src/dendrite/eventstore/event_store.ts";

/** A store under test; `reopen` (durable adapters) closes and opens the same storage again. */
export interface EventStoreFixture {
  readonly store: EventStore;
  reopen?(): Promise<EventStore>;
  close(): Promise<void>;
}

export interface EventStoreContractOptions {
  /** Skip the suite, with this reason printed. */
  readonly skip?: string | false;
  /**
   * Whether the store is shared with other tests (a real server): the suite then uses fresh aggregate ids and
   * relative tokens only.
   */
  readonly shared?: boolean;
  /** Whether `append` reports the tokens it assigned (default true; Axon Server does not). */
  readonly reportsTokens?: boolean;
  /** Whether `streamPages` fills every page while events are stored (local stores; a network store pages what arrived). */
  readonly fullPages?: boolean;
  /** Whether the store remembers idempotency keys (default true; Axon Server does not). */
  readonly idempotency?: boolean;
}

let counter = 0;
/** A unique aggregate id for this run. */
export function aggregateId(prefix = "agg"): string {
  return `${prefix}-${crypto.randomUUID()}-${counter++}`;
}

/** A test event; domain events when `aggregate` is given. */
export function testEvent(
  aggregate?: { id: string; sequence: number; type?: string },
  data: Uint8Array = new TextEncoder().encode(`data-${counter++}`),
  metadata: EventRecord["metadata"] = {},
): EventRecord {
  return {
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: "test.v1.Happened", revision: "", data },
    metadata,
    aggregate: aggregate
      ? { type: aggregate.type ?? "test.v1.Thing", id: aggregate.id, sequence: aggregate.sequence }
      : undefined,
  };
}

/** Events `from..from+count-1` of one aggregate. */
export function testEvents(id: string, from: number, count: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) => testEvent({ id, sequence: from + i }));
}

async function collect<T>(iterable: AsyncIterable<T>, max = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

/** Registers the suite as Deno tests named `<adapter>: EventStore …`. */
export function eventStoreContract(
  adapter: string,
  open: () => Promise<EventStoreFixture>,
  options: EventStoreContractOptions = {},
): void {
  const test = contractSuite("EventStore", adapter, open, options);
  const reportsTokens = options.reportsTokens ?? true;
  /** The tokens an append reports: exactly the ones expected, or none from a store that cannot know them. */
  const assertReported = (reported: number | undefined, expected: number) =>
    assertEquals(reported, reportsTokens ? expected : undefined);

  if (!options.shared) {
    test("starts empty: last token -1, first token 0", async ({ store }) => {
      assertEquals(await store.lastToken(), -1);
      assertEquals(await store.firstToken(), 0);
      assertEquals(await store.tokenAt(0), 0);
      assertEquals(await collect(store.stream({ from: 0 })), []);
    });
  }

  test("appends a batch with contiguous tokens and reads the aggregate in order", async ({ store }) => {
    const id = aggregateId();
    const before = await store.lastToken();
    const result = await store.append(testEvents(id, 0, 3));
    assertReported(result.firstToken, before + 1);
    assertReported(result.lastToken, before + 3);
    const read = await collect(store.readAggregate(id));
    assertEquals(read.map((e) => e.aggregate.sequence), [0, 1, 2]);
    assertEquals(await store.highestSequence(id), 2);
    assertEquals(await store.highestSequence(aggregateId("none")), -1);
    const tail = await collect(store.stream({ from: before + 1 }));
    assertEquals(tail.slice(0, 3).map((e) => e.token), [before + 1, before + 2, before + 3]);
    assertEquals(tail.slice(0, 3).map((e) => e.aggregate?.id), [id, id, id]);
  });

  test("keeps payload bytes, revision, timestamp and metadata exactly", async ({ store }) => {
    const id = aggregateId();
    const data = new Uint8Array([0, 255, 1, 0, 128, 10]);
    const event = {
      ...testEvent({ id, sequence: 0, type: "test.v1.Special" }, data, {
        correlation_id: "c-1",
        count: 42,
        ratio: 0.5,
        flag: true,
      }),
      payload: { type: "test.v1.Happened", revision: "3", data },
      timestamp: 1_700_000_000_123,
    };
    await store.append([event]);
    const [read] = await collect(store.readAggregate(id));
    assertEquals(read.id, event.id);
    assertEquals(read.timestamp, event.timestamp);
    assertEquals(read.payload.type, "test.v1.Happened");
    assertEquals(read.payload.revision, "3");
    assertEquals([...read.payload.data], [...data]);
    assertEquals(read.metadata, { correlation_id: "c-1", count: 42, ratio: 0.5, flag: true });
    assertEquals(read.aggregate, { type: "test.v1.Special", id, sequence: 0 });
  });

  test("refuses a first event that is not sequence 0, with AXONIQ-2000", async ({ store }) => {
    const before = await store.lastToken();
    const error = await assertRejects(() => store.append(testEvents(aggregateId(), 1, 1)), ConcurrencyError);
    assertEquals(error.code, "AXONIQ-2000");
    assertEquals(await store.lastToken(), before);
  });

  test("refuses a gap or a duplicate sequence and stores nothing of the batch", async ({ store }) => {
    const id = aggregateId();
    const other = aggregateId();
    await store.append(testEvents(id, 0, 2));
    const before = await store.lastToken();
    await assertRejects(
      () => store.append([...testEvents(other, 0, 2), ...testEvents(id, 3, 1)]),
      ConcurrencyError,
    );
    await assertRejects(
      () => store.append([...testEvents(other, 0, 1), ...testEvents(id, 1, 1)]),
      ConcurrencyError,
    );
    await assertRejects(
      () => store.append([testEvent({ id: other, sequence: 0 }), testEvent({ id: other, sequence: 2 })]),
      ConcurrencyError,
    );
    assertEquals(await store.lastToken(), before);
    assertEquals(await store.highestSequence(other), -1);
    assertEquals((await collect(store.readAggregate(id))).length, 2);
  });

  test("lets exactly one of two concurrent appends of the same sequence win", async ({ store }) => {
    const id = aggregateId();
    await store.append(testEvents(id, 0, 1));
    const outcomes = await Promise.allSettled([
      store.append(testEvents(id, 1, 2)),
      store.append(testEvents(id, 1, 1)),
    ]);
    assertEquals(outcomes.filter((o) => o.status === "fulfilled").length, 1);
    const rejected = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    assert(
      rejected.reason instanceof ConcurrencyError,
      `expected a ConcurrencyError, got ${rejected.reason}`,
    );
    const read = await collect(store.readAggregate(id));
    assertEquals(read.map((e) => e.aggregate.sequence), read.map((_, i) => i));
  });

  test("stores events without an aggregate without sequence checks", async ({ store }) => {
    const before = await store.lastToken();
    const result = await store.append([testEvent(), testEvent()]);
    assertReported(result.lastToken, before + 2);
    const read = await collect(store.stream({ from: before + 1 }));
    assertEquals(read.length, 2);
    assertEquals(read[0].aggregate, undefined);
  });

  test("streams from a token (inclusive) and follows new events live until aborted", async ({ store }) => {
    const id = aggregateId();
    const firstToken = await store.lastToken() + 1;
    await store.append(testEvents(id, 0, 2));
    const controller = new AbortController();
    const seen: TrackedEventRecord[] = [];
    const reader = (async () => {
      for await (
        const event of store.stream({ from: firstToken + 1, follow: true, signal: controller.signal })
      ) {
        seen.push(event);
        if (seen.length === 3) controller.abort();
      }
    })().catch((error) => {
      if (!controller.signal.aborted) throw error;
    });
    await store.append(testEvents(id, 2, 2));
    await reader;
    assertEquals(seen.map((e) => e.aggregate?.sequence), [1, 2, 3]);
    assertEquals(seen.map((e) => e.token), [firstToken + 1, firstToken + 2, firstToken + 3]);
  });

  test("reads a long aggregate and a long stream across pages", async ({ store }) => {
    const id = aggregateId();
    const before = await store.lastToken();
    for (let i = 0; i < 3; i++) await store.append(testEvents(id, i * 700, 700));
    const read = await collect(store.readAggregate(id, { fromSequence: 5 }));
    assertEquals(read.length, 2095);
    assertEquals(read[0].aggregate.sequence, 5);
    assertEquals(read.at(-1)!.aggregate.sequence, 2099);
    const streamed = await collect(store.stream({ from: before + 1 }));
    assertEquals(streamed.length, 2100);
    assert(streamed.every((e, i) => e.token === before + 1 + i), "tokens are contiguous");
  });

  test("reads the stream in pages: consecutive, never empty, at most the page size, then live", async ({ store }) => {
    const id = aggregateId();
    const before = await store.lastToken();
    await store.append(testEvents(id, 0, 25));
    const controller = new AbortController();
    const pages: (readonly TrackedEventRecord[])[] = [];
    let seen = 0;
    const reader = (async () => {
      const options = { from: before + 1, follow: true, signal: controller.signal, pageSize: 10 };
      for await (const page of streamPagesOf(store, options)) {
        pages.push(page);
        seen += page.length;
        if (seen === 25) await store.append(testEvents(id, 25, 3));
        if (seen === 28) controller.abort();
      }
    })().catch((error) => {
      if (!controller.signal.aborted) throw error;
    });
    await reader;
    const tokens = pages.flat().map((e) => e.token);
    assertEquals(tokens, Array.from({ length: 28 }, (_, i) => before + 1 + i));
    assertEquals(pages.flat().map((e) => e.aggregate?.sequence), Array.from({ length: 28 }, (_, i) => i));
    assert(pages.every((p) => p.length > 0 && p.length <= 10), `page sizes ${pages.map((p) => p.length)}`);
    if (options.fullPages) assertEquals(pages.slice(0, 3).map((p) => p.length), [10, 10, 5]);
  });

  test("serves the latest snapshot first, then the events after it", async ({ store }) => {
    const id = aggregateId();
    await store.append(testEvents(id, 0, 10));
    const snapshot = (sequence: number) => ({
      ...testEvent({ id, sequence }, new TextEncoder().encode(`state@${sequence}`)),
      aggregate: { type: "test.v1.Thing", id, sequence },
    });
    await assertRejects(() => store.appendSnapshot(snapshot(10)));
    await store.appendSnapshot(snapshot(4));
    await store.appendSnapshot(snapshot(7));
    const read = await collect(store.readAggregate(id, { allowSnapshots: true }));
    assertEquals(read[0].snapshot, true);
    assertEquals(new TextDecoder().decode(read[0].payload.data), "state@7");
    assertEquals(read.slice(1).map((e) => e.aggregate.sequence), [8, 9]);
    const plain = await collect(store.readAggregate(id));
    assertEquals(plain.length, 10);
    assertEquals(plain.some((e) => e.snapshot), false);
    const snapshots = await collect(store.readSnapshots(id, { maxResults: 1 }));
    assertEquals(snapshots.map((s) => s.aggregate.sequence), [7]);
    assertEquals((await collect(store.readSnapshots(id))).map((s) => s.aggregate.sequence), [7, 4]);
  });

  test("finds the token at a time", async ({ store }) => {
    const id = aggregateId();
    const at = (sequence: number, timestamp: number) => ({ ...testEvent({ id, sequence }), timestamp });
    const now = Date.now() + 100_000;
    const firstToken = await store.lastToken() + 1;
    await store.append([at(0, now), at(1, now + 1_000), at(2, now + 2_000)]);
    assertEquals(await store.tokenAt(now + 500), firstToken + 1);
    assertEquals(await store.tokenAt(now + 2_000), firstToken + 2);
    assertEquals(await store.tokenAt(now + 10_000), firstToken + 3);
  });

  if (options.idempotency ?? true) {
    test("stores the events of an idempotency key once and reports the first outcome, across a reopen", async (fixture) => {
      const id = aggregateId();
      const key = crypto.randomUUID();
      const keyed = (sequence: number) =>
        testEvent({ id, sequence }, undefined, { [IDEMPOTENCY_KEY]: key, n: 1 });
      await fixture.store.append([keyed(0), keyed(1)]);
      const first = { key, aggregateId: id, firstSequence: 0, lastSequence: 1 };
      const retry = await assertRejects(() => fixture.store.append([keyed(2)]));
      assertEquals(duplicateOutcome(retry), first);
      // the whole batch of a retry is refused, and the key is not kept in the events
      await assertRejects(() => fixture.store.append([...testEvents(aggregateId(), 0, 1), keyed(2)]));
      assertEquals(await fixture.store.highestSequence(id), 1);
      const stored = await collect(fixture.store.readAggregate(id));
      assertEquals(stored.map((event) => event.metadata), [{ n: 1 }, { n: 1 }]);
      // another key goes through
      await fixture.store.append([
        testEvent({ id, sequence: 2 }, undefined, { [IDEMPOTENCY_KEY]: `${key}-2` }),
      ]);
      const reopened = fixture.reopen ? await fixture.reopen() : fixture.store;
      assertEquals(duplicateOutcome(await assertRejects(() => reopened.append([keyed(3)]))), first);
      assertEquals(await reopened.highestSequence(id), 2);
    });
  }

  test("keeps everything across a reopen", async (fixture) => {
    if (!fixture.reopen) return;
    const id = aggregateId();
    await fixture.store.append(testEvents(id, 0, 5));
    const last = await fixture.store.lastToken();
    const reopened = await fixture.reopen();
    assertEquals(await reopened.lastToken(), last);
    assertEquals(await reopened.highestSequence(id), 4);
    await assertRejects(() => reopened.append(testEvents(id, 4, 1)), ConcurrencyError);
    await reopened.append(testEvents(id, 5, 1));
    assertEquals(await reopened.lastToken(), last + 1);
  });
}
