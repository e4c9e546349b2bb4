/**
 * The DcbEventStore contract: one suite, run against every adapter (in-memory, SQLite, soma in-process, and the
 * connector → soma over gRPC).
 *
 * @module
 */
import { contractSuite } from "./suite.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ConcurrencyError } from "../../src/dendrite/mod.ts";
import {
  ConsistencyViolationError,
  type Criterion,
  type DcbEventStore,
  type SequencedEvent,
  type Tag,
  tag,
  type TaggedEvent,
} from "../../src/dendrite/dcb/mod.ts";

/** A store under test; `reopen` (durable adapters) closes and opens the same storage again. */
export interface DcbEventStoreFixture {
  readonly store: DcbEventStore;
  reopen?(): Promise<DcbEventStore>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/** A tagged test event. */
export function dcbEvent(name: string, tags: readonly Tag[], text = name): TaggedEvent {
  return { event: { name, payload: encoder.encode(text) }, tags };
}

const course = (id: string) => tag("course", id);
const student = (id: string) => tag("student", id);

async function take(iterable: AsyncIterable<SequencedEvent>, count: number): Promise<SequencedEvent[]> {
  const out: SequencedEvent[] = [];
  for await (const event of iterable) {
    out.push(event);
    if (out.length >= count) break;
  }
  return out;
}

/** Stores course/student events at sequences 0..4. */
async function seed(store: DcbEventStore): Promise<void> {
  await store.append([
    dcbEvent("CourseCreated", [course("c1")]),
    dcbEvent("CourseCreated", [course("c2")]),
    dcbEvent("StudentSubscribed", [course("c1"), student("s1")]),
    dcbEvent("StudentSubscribed", [course("c2"), student("s1")]),
    dcbEvent("StudentSubscribed", [course("c1"), student("s2")]),
  ]);
}

const sequences = (events: readonly SequencedEvent[]) => events.map((e) => e.sequence);

/** Registers the suite as Deno tests named `<adapter>: DcbEventStore …`. */
export function dcbEventStoreContract(
  adapter: string,
  open: () => Promise<DcbEventStoreFixture>,
  options: { readonly skip?: string | false } = {},
): void {
  const test = contractSuite("DcbEventStore", adapter, open, options);

  test("starts empty: head 0, tail 0, nothing to source, marker 0", async ({ store }) => {
    assertEquals(await store.head(), 0);
    assertEquals(await store.tail(), 0);
    assertEquals(await store.source([]), { events: [], marker: 0 });
    assertEquals(await store.sequenceAt(0), 0);
  });

  test("appends a transaction with contiguous sequences and keeps every field", async ({ store }) => {
    const payload = new Uint8Array([0, 255, 1, 128]);
    const first = await store.append([dcbEvent("A", [])]);
    assertEquals(first, { firstSequence: 0, count: 1, marker: 1 });
    const event = {
      id: crypto.randomUUID(),
      timestamp: 1_700_000_000_123,
      name: "B",
      version: "2",
      payload,
      metadata: { correlation: "c-1" },
    };
    const result = await store.append([{ event, tags: [tag("k", "v")] }, dcbEvent("C", [])]);
    assertEquals(result, { firstSequence: 1, count: 2, marker: 3 });
    assertEquals(await store.head(), 3);
    const { events, marker } = await store.source([]);
    assertEquals(marker, 3);
    assertEquals(sequences(events), [0, 1, 2]);
    assertEquals({ ...events[1].event, payload: [...events[1].event.payload] }, {
      ...event,
      payload: [...payload],
    });
    assert(events[0].event.id.length > 0 && events[0].event.timestamp > 0, "id and timestamp filled in");
  });

  test("sources by criteria: names AND tags within one, criteria OR-ed", async ({ store }) => {
    await seed(store);
    const source = async (criteria: Criterion[], from = 0) =>
      sequences((await store.source(criteria, { from })).events);
    assertEquals(await source([{ names: ["StudentSubscribed"], tags: [course("c1")] }]), [2, 4]);
    assertEquals(await source([{ names: [], tags: [course("c1"), student("s1")] }]), [2]);
    assertEquals(await source([{ names: ["CourseCreated"], tags: [] }]), [0, 1]);
    assertEquals(await source([{ names: ["CourseCreated", "StudentSubscribed"], tags: [student("s2")] }]), [
      4,
    ]);
    assertEquals(await source([{ names: ["Nothing"], tags: [course("c1")] }]), []);
    assertEquals(
      await source([
        { names: ["CourseCreated"], tags: [course("c1")] },
        { names: ["StudentSubscribed"], tags: [student("s1")] },
      ]),
      [0, 2, 3],
    );
    assertEquals(await source([{ names: [], tags: [course("c1")] }], 1), [2, 4]);
    assertEquals((await store.source([{ names: ["Nothing"], tags: [] }])).marker, 5);
  });

  test("appends when nothing matching was stored since the marker", async ({ store }) => {
    await seed(store);
    const criteria = [{ names: [], tags: [course("c1")] }];
    const { marker } = await store.source(criteria);
    await store.append([dcbEvent("StudentSubscribed", [course("c2"), student("s3")])]);
    const result = await store.append([dcbEvent("StudentSubscribed", [course("c1"), student("s3")])], {
      marker,
      criteria,
    });
    assertEquals(result.firstSequence, 6);
    const next = await store.append([dcbEvent("X", [course("c1")])], { marker: result.marker, criteria });
    assertEquals(next.firstSequence, 7);
  });

  test("refuses a conditional append atomically when a matching event came after the marker", async ({ store }) => {
    await seed(store);
    const criteria = [{ names: ["StudentSubscribed"], tags: [course("c1")] }];
    const { marker } = await store.source(criteria);
    await store.append([dcbEvent("StudentSubscribed", [course("c1"), student("s9")])]);
    const error = await assertRejects(
      () =>
        store.append([dcbEvent("StudentSubscribed", [course("c1"), student("s3")]), dcbEvent("Other", [])], {
          marker,
          criteria,
        }),
      ConcurrencyError,
    );
    assertEquals(error.code, "AXONIQ-2000");
    assertEquals(await store.head(), 6, "nothing of the transaction is stored");
    assertEquals(sequences((await store.source([{ names: ["Other"], tags: [] }])).events), []);
    // A marker at the head, or one before the seed with criteria nothing matches, passes.
    await store.append([dcbEvent("Y", [])], { marker: 0, criteria: [{ names: ["Nothing"], tags: [] }] });
  });

  test("lets exactly one of 20 concurrent appends from one marker win", async ({ store }) => {
    await seed(store);
    const criteria = [{ names: [], tags: [course("c1")] }];
    const { marker } = await store.source(criteria);
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: 20 },
        (_, i) =>
          store.append([dcbEvent("StudentSubscribed", [course("c1"), student(`r${i}`)])], {
            marker,
            criteria,
          }),
      ),
    );
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    assertEquals(won.length, 1);
    assert(lost.every((o) => o.reason instanceof ConcurrencyError), "every loser is a consistency violation");
    assertEquals(await store.head(), 6);
  });

  test("streams matching events from a sequence, then live ones", async ({ store }) => {
    await seed(store);
    const controller = new AbortController();
    const live = take(
      store.stream([{ names: ["StudentSubscribed"], tags: [course("c1")] }], {
        from: 3,
        signal: controller.signal,
      }),
      3,
    );
    await store.append([dcbEvent("StudentSubscribed", [course("c2"), student("s5")])]);
    await store.append([dcbEvent("StudentSubscribed", [course("c1"), student("s6")])]);
    await store.append([dcbEvent("StudentSubscribed", [course("c1"), student("s7")])]);
    assertEquals(sequences(await live), [4, 6, 7]);
    controller.abort();
  });

  test("ends a stream when its signal aborts", async ({ store }) => {
    await seed(store);
    const controller = new AbortController();
    const all = (async () => {
      const seen: number[] = [];
      try {
        for await (const event of store.stream([], { from: 0, signal: controller.signal })) {
          seen.push(event.sequence);
          if (seen.length === 5) controller.abort();
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
      return seen;
    })();
    assertEquals(await all, [0, 1, 2, 3, 4]);
  });

  test("finds the sequence at a timestamp, else the head", async ({ store }) => {
    const at = (timestamp: number) => ({
      event: { name: "T", payload: new Uint8Array(), timestamp },
      tags: [],
    });
    await store.append([at(1_000), at(2_000), at(3_000)]);
    assertEquals(await store.sequenceAt(0), 0);
    assertEquals(await store.sequenceAt(2_000), 1);
    assertEquals(await store.sequenceAt(2_500), 2);
    assertEquals(await store.sequenceAt(9_000), 3);
  });

  test("adds, removes and gets tags, and sourcing sees the change", async ({ store }) => {
    await seed(store);
    const tags = (seq: number) => store.getTags(seq).then((t) => t.map((x) => `${x.key}=${x.value}`).sort());
    assertEquals(await tags(2), ["course=c1", "student=s1"]);
    await store.addTags(1, [tag("featured", "yes"), course("c2")]);
    assertEquals(await tags(1), ["course=c2", "featured=yes"]);
    assertEquals(sequences((await store.source([{ names: [], tags: [tag("featured", "yes")] }])).events), [
      1,
    ]);
    await store.removeTags(2, [course("c1"), tag("absent", "x")]);
    assertEquals(await tags(2), ["student=s1"]);
    assertEquals(sequences((await store.source([{ names: [], tags: [course("c1")] }])).events), [0, 4]);
    await assertRejects(() => store.getTags(99));
    await assertRejects(() => store.addTags(99, [tag("a", "b")]));
  });

  test("rejects a negative marker or start sequence", async ({ store }) => {
    await assertRejects(() => store.append([dcbEvent("A", [])], { marker: -1, criteria: [] }));
    await assertRejects(() => store.source([], { from: -2 }));
    assertEquals(await store.head(), 0);
  });

  test("keeps events and tags across a reopen", async (fixture) => {
    if (!fixture.reopen) return;
    await seed(fixture.store);
    await fixture.store.addTags(0, [tag("extra", "1")]);
    const store = await fixture.reopen();
    assertEquals(await store.head(), 5);
    assertEquals(sequences((await store.source([{ names: [], tags: [tag("extra", "1")] }])).events), [0]);
    assertEquals((await store.append([dcbEvent("A", [])])).firstSequence, 5);
  });
}

export { ConsistencyViolationError };
