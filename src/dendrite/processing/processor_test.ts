import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { advanceUntil, whenChanged } from "../../../test/processing/changes.ts";
import { DepositedEventSchema } from "../../gen/test/v1/account_pb.ts";
import { ClaimError } from "../core/errors.ts";
import { MessageRegistry } from "../core/registry.ts";
import type { EventRecord } from "../eventstore/event_store.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
import { InMemoryTokenStore } from "./memory_token_store.ts";
import { type ProcessorOptions, TrackingProcessor } from "./processor.ts";
import { defineProjection, type ProjectionContext } from "./projection.ts";
import { javaStringHash } from "./segment.ts";
import { ManualClock } from "../testing/manual_clock.ts";

const registry = new MessageRegistry([DepositedEventSchema]);

/** Aggregate ids whose events fall into segment `id` of `mask + 1` segments. */
function idsIn(id: number, mask: number, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const candidate = `agg-${i}`;
    if ((javaStringHash(candidate) & mask) === id) ids.push(candidate);
  }
  return ids;
}

const sequences = new Map<string, number>();
function deposited(aggregateId: string, message = "hi"): EventRecord {
  const sequence = (sequences.get(aggregateId) ?? -1) + 1;
  sequences.set(aggregateId, sequence);
  return {
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: registry.encode(create(DepositedEventSchema, { accountId: aggregateId, note: message })),
    metadata: {},
    aggregate: { type: "test.v1.Account", id: aggregateId, sequence },
  };
}

interface Handled {
  readonly token: number;
  readonly aggregate: string;
  readonly sequence: number;
  readonly replaying: boolean;
}

function recorder(options: {
  fail?: (token: number, aggregate: string) => boolean;
  gate?: (token: number, context: ProjectionContext) => Promise<void>;
} = {}) {
  const handled: Handled[] = [];
  let resets = 0;
  const projection = defineProjection({
    name: `test-${crypto.randomUUID()}`,
    events: [DepositedEventSchema],
    async handle(event, context) {
      const aggregate = event.aggregate!;
      await options.gate?.(event.token!, context);
      if (options.fail?.(event.token!, aggregate.id)) throw new Error(`Handler failed at ${event.token}`);
      handled.push({
        token: event.token!,
        aggregate: aggregate.id,
        sequence: aggregate.sequence,
        replaying: context.replaying,
      });
    },
    reset() {
      resets++;
      handled.length = 0;
      return Promise.resolve();
    },
  });
  return { projection, handled, resets: () => resets };
}

function setup(extra: Partial<ProcessorOptions> = {}) {
  sequences.clear();
  const eventStore = new InMemoryEventStore();
  const clock = extra.clock;
  const tokenStore = new InMemoryTokenStore(clock ? { now: () => clock.now() } : {});
  const options: ProcessorOptions = {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
    claimTimeoutMs: 400,
    claimIntervalMs: 40,
    flushIntervalMs: 20,
    retry: { baseDelayMs: 2, maxDelayMs: 10 },
    onError: () => {},
    ...extra,
  };
  return { eventStore, tokenStore, options };
}

/** Every event of the store handled exactly once, each aggregate in sequence order. */
function assertExactlyOnce(handled: readonly Handled[], total: number): void {
  assertEquals(handled.map((h) => h.token).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
  const last = new Map<string, number>();
  for (const h of handled) {
    assertEquals(h.sequence, (last.get(h.aggregate) ?? -1) + 1, `order of ${h.aggregate}`);
    last.set(h.aggregate, h.sequence);
  }
}

async function appendAll(store: InMemoryEventStore, aggregates: readonly string[], perAggregate: number) {
  for (let i = 0; i < perAggregate; i++) {
    for (const id of aggregates) await store.append([deposited(id)]);
  }
  return await store.lastToken();
}

Deno.test("TrackingProcessor shares the stream over four segments, each event once and in order", async () => {
  const { eventStore, options } = setup({ initialSegments: 4 });
  const { projection, handled } = recorder();
  const processor = new TrackingProcessor(projection, options);
  const aggregates = [0, 1, 2, 3].flatMap((s) => idsIn(s, 3, 2));
  await appendAll(eventStore, aggregates, 5);
  await processor.start();
  try {
    const last = await appendAll(eventStore, aggregates, 5);
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    assertExactlyOnce(handled, last + 1);
    const status = processor.status();
    assertEquals(status.segments.map((s) => [s.segment, s.onePartOf, s.position, s.caughtUp]), [
      [0, 4, last, true],
      [1, 4, last, true],
      [2, 4, last, true],
      [3, 4, last, true],
    ]);
    assertEquals([status.mode, status.running, status.error, status.members], ["Tracking", true, false, 1]);
  } finally {
    await processor.stop();
  }
  assertEquals(processor.status().running, false);
});

Deno.test("TrackingProcessor.split() halves a segment at the same token; nothing is handled twice", async () => {
  const { eventStore, tokenStore, options } = setup();
  const { projection, handled } = recorder();
  const processor = new TrackingProcessor(projection, options);
  const aggregates = [...idsIn(0, 1, 3), ...idsIn(1, 1, 3)];
  await processor.start();
  try {
    await processor.caughtUp(await appendAll(eventStore, aggregates, 3), AbortSignal.timeout(5_000));
    assertEquals(await processor.split(0), true);
    assertEquals(await tokenStore.segments(projection.name), [0, 1]);
    assertEquals(await processor.split(7), false);
    const last = await appendAll(eventStore, aggregates, 3);
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    assertEquals(processor.status().segments.map((s) => [s.segment, s.mask, s.onePartOf]), [[0, 1, 2], [
      1,
      1,
      2,
    ]]);
    assertExactlyOnce(handled, last + 1);
    assertEquals(await processor.split(1), true);
    assertEquals(await tokenStore.segments(projection.name), [0, 1, 3]);
  } finally {
    await processor.stop();
  }
});

Deno.test("TrackingProcessor.merge() joins siblings and skips what the more advanced half handled", async () => {
  const { eventStore, tokenStore, options } = setup({ initialSegments: 2 });
  const lower = idsIn(0, 1, 2);
  const upper = idsIn(1, 1, 2);
  let stuck = true;
  // Segment 1's first event fails until released, so segment 0 runs ahead.
  const { projection, handled } = recorder({
    fail: (_token, aggregate) => stuck && upper.includes(aggregate),
  });
  const processor = new TrackingProcessor(projection, { ...options, poison: { policy: "block" } });
  const last = await appendAll(eventStore, [...lower, ...upper], 4);
  await processor.start();
  try {
    await whenChanged([processor], () => {
      const s = processor.status().segments;
      return s.length === 2 && s[0].position === last && s[1].error !== undefined;
    }, "segment 0 ahead, segment 1 failing");
    assertEquals(processor.status().error, true);
    assertEquals(await processor.merge(0), true);
    const entries = await tokenStore.entries(projection.name);
    assertEquals(entries.length, 1);
    assertEquals(entries[0].token.mergedUpper, last);
    assertEquals([entries[0].token.mergedUpperSegment, entries[0].token.mergedUpperMask], [0, 1]);
    stuck = false;
    const more = await appendAll(eventStore, [...lower, ...upper], 2);
    await processor.caughtUp(more, AbortSignal.timeout(5_000));
    assertEquals(processor.status().segments.map((s) => [s.segment, s.mask, s.error]), [[0, 0, undefined]]);
    assertExactlyOnce(handled, more + 1);
    assertEquals(await processor.merge(0), false, "the root segment has nothing to merge with");
  } finally {
    await processor.stop();
  }
});

Deno.test("TrackingProcessor.release() hands a segment to another instance", async () => {
  const { eventStore, tokenStore, options } = setup({ initialSegments: 2, maxSegments: 2 });
  const a = recorder();
  const processorA = new TrackingProcessor(a.projection, { ...options, owner: "a", balance: false });
  const processorB = new TrackingProcessor(a.projection, { ...options, owner: "b", balance: false });
  await processorA.start();
  try {
    assertEquals(processorA.status().segments.length, 2);
    await processorB.start();
    assertEquals(processorB.status().segments.length, 0);
    assertEquals(await processorA.release(1), true);
    assertEquals(await processorA.release(1), false);
    await whenChanged(
      [processorA, processorB],
      async () => (await tokenStore.entries(a.projection.name))[1].owner === "b",
      "b owning segment 1",
    );
    assertEquals(processorA.status().segments.map((s) => s.segment), [0]);
    const last = await appendAll(eventStore, [...idsIn(0, 1, 2), ...idsIn(1, 1, 2)], 2);
    await whenChanged(
      [processorA, processorB],
      () => [processorA, processorB].every((p) => p.status().segments[0]?.position === last),
      "both at the last event",
    );
    assertExactlyOnce(a.handled, last + 1);
  } finally {
    await processorB.stop();
    await processorA.stop();
  }
});

Deno.test("TrackingProcessor instances share segments fairly and take all back when the other stops", async () => {
  const clock = new ManualClock(1_000_000);
  const { tokenStore, options } = setup({ initialSegments: 4, clock });
  const { projection } = recorder();
  const owners = async () => (await tokenStore.entries(projection.name)).map((e) => e.owner ?? "-");
  const a = new TrackingProcessor(projection, { ...options, owner: "a" });
  const b = new TrackingProcessor(projection, { ...options, owner: "b" });
  await a.start();
  try {
    assertEquals(await owners(), ["a", "a", "a", "a"]);
    await b.start();
    assertEquals(await owners(), ["a", "a", "a", "a"], "b takes nothing held by a live instance");
    // a gives one segment back per round (40 ms) and b takes it: an even split within a few rounds.
    const even = async () => (await owners()).filter((o) => o === "b").length === 2;
    await advanceUntil(clock, even, "a 2/2 split", 40, 10 * 40);
    assertEquals([a.status().members, a.status().claimLimit], [2, 2]);
    await clock.advance(5 * 40);
    assert(await even(), "the split is stable");
    await b.stop();
    const allA = async () => (await owners()).every((o) => o === "a");
    await advanceUntil(clock, allA, "a taking all back", 40, 4 * 40);
  } finally {
    await b.stop();
    await a.stop();
  }
});

Deno.test("TrackingProcessor takes over a dead instance's segments once its claims expire, not before", async () => {
  const clock = new ManualClock(1_000_000);
  const { tokenStore, options } = setup({ initialSegments: 4, clock });
  const { projection } = recorder();
  const p = projection.name;
  const owners = async () => (await tokenStore.entries(p)).map((e) => e.owner ?? "-");
  await tokenStore.initializeSegments(p, 4);
  // A dead owner's claims (never extended again), taken now with the processor's timeout of 400 ms.
  await tokenStore.claim(p, 0, "dead", 400);
  await tokenStore.claim(p, 3, "dead", 400);
  const c = new TrackingProcessor(projection, { ...options, owner: "c" });
  await c.start();
  try {
    assertEquals(await owners(), ["dead", "c", "c", "dead"]);
    await clock.advance(399);
    assertEquals(await owners(), ["dead", "c", "c", "dead"], "not before the claim timeout");
    await clock.advance(1 + 40);
    assertEquals(await owners(), ["c", "c", "c", "c"], "within the claim timeout and one claim interval");
  } finally {
    await c.stop();
  }
});

Deno.test("TrackingProcessor.reset() replays from zero or a token, with progress in status()", async () => {
  const { eventStore, tokenStore, options } = setup({ initialSegments: 2 });
  let hold: PromiseWithResolvers<void> | undefined;
  const rec = recorder({
    gate: (token, context) => (context.replaying && token === 5 && hold ? hold.promise : Promise.resolve()),
  });
  const processor = new TrackingProcessor(rec.projection, options);
  const last = await appendAll(eventStore, [...idsIn(0, 1, 2), ...idsIn(1, 1, 2)], 5);
  await processor.start();
  try {
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    hold = Promise.withResolvers();
    await processor.reset();
    assertEquals(rec.resets(), 1);
    await whenChanged(
      [processor],
      () => processor.status().segments.some((s) => s.position === 4 || s.position >= 5),
      "a segment held at token 5",
    );
    const replaying = processor.status().segments.filter((s) => s.replaying);
    assert(replaying.length > 0, "a segment is replaying");
    assert(replaying.every((s) => s.replayUntil === last && s.position < last));
    hold.resolve();
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    await whenChanged(
      [processor],
      () => processor.status().segments.every((s) => !s.replaying),
      "the replay's end",
    );
    assertExactlyOnce(rec.handled, last + 1);
    assert(rec.handled.every((h) => h.replaying));
    await whenChanged(
      [processor],
      async () =>
        (await tokenStore.entries(rec.projection.name)).every((e) => e.token.replayUntil === undefined),
      "stored tokens past the replay",
    );

    rec.handled.length = 0;
    await processor.reset(15);
    assertEquals(rec.resets(), 1, "a reset from a token keeps the query model");
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    assertEquals(rec.handled.map((h) => h.token).sort((a, b) => a - b), [15, 16, 17, 18, 19]);

    // Another live instance holds a segment: the reset refuses and changes nothing.
    await processor.stop();
    await tokenStore.claim(rec.projection.name, 1, "someone-else", 60_000);
    await assertRejects(() => processor.reset(), ClaimError);
    assertEquals(rec.resets(), 1);
    assertEquals(processor.running, false);
  } finally {
    hold?.resolve();
    await processor.stop();
  }
});

Deno.test("TrackingProcessor dead-letters a poison event, keeps the aggregate's order and goes on", async () => {
  const deadLetters = new InMemoryDeadLetterQueue();
  const { eventStore, options } = setup({ initialSegments: 2, deadLetters, poison: { maxAttempts: 3 } });
  const [poisoned, healthy] = idsIn(0, 1, 2);
  let broken = true;
  const errors: number[] = [];
  const rec = recorder({ fail: (token, aggregate) => broken && aggregate === poisoned && token === 2 });
  const processor = new TrackingProcessor(rec.projection, {
    ...options,
    onError: (_error, where) => errors.push(where.token),
  });
  await eventStore.append([deposited(poisoned), deposited(healthy), deposited(poisoned), deposited(healthy)]);
  await eventStore.append([deposited(poisoned), deposited(healthy)]);
  const other = idsIn(1, 1, 1)[0];
  await eventStore.append([deposited(other)]);
  await processor.start();
  try {
    await processor.caughtUp(6, AbortSignal.timeout(5_000));
    assertEquals(errors, [2, 2, 2]);
    const letters = await deadLetters.list(rec.projection.name);
    assertEquals(letters.map((l) => [l.event.token, l.attempts, l.sequenceId]), [[2, 3, poisoned], [
      4,
      0,
      poisoned,
    ]]);
    assertEquals(letters[0].cause, "Error: Handler failed at 2");
    assert(letters[1].cause.startsWith("Queued behind a dead letter"));
    assertEquals(rec.handled.map((h) => h.token).sort((a, b) => a - b), [0, 1, 3, 5, 6]);
    assertEquals(processor.status().deadLettered, 2);
    assertEquals(processor.status().error, false);

    // Later events of the aggregate keep queueing until the letters are retried.
    await eventStore.append([deposited(poisoned)]);
    await processor.caughtUp(7, AbortSignal.timeout(5_000));
    assertEquals(await deadLetters.count(rec.projection.name), 3);
    assertEquals(await processor.retryDeadLetters(), { succeeded: 0, failed: 3 });
    assertEquals((await deadLetters.list(rec.projection.name)).map((l) => l.attempts), [4, 0, 0]);
    broken = false;
    assertEquals(await processor.retryDeadLetters(), { succeeded: 3, failed: 0 });
    assertEquals(await deadLetters.count(rec.projection.name), 0);
    await eventStore.append([deposited(poisoned)]);
    await processor.caughtUp(8, AbortSignal.timeout(5_000));
    assertExactlyOnce(rec.handled, 9);
  } finally {
    await processor.stop();
  }
});

Deno.test("TrackingProcessor keeps other segments going while one retries (policy block)", async () => {
  const { eventStore, options } = setup({ initialSegments: 2, poison: { policy: "block", maxAttempts: 1 } });
  const [bad] = idsIn(1, 1, 1);
  const good = idsIn(0, 1, 2);
  let broken = true;
  const rec = recorder({ fail: (_token, aggregate) => broken && aggregate === bad });
  const processor = new TrackingProcessor(rec.projection, options);
  await eventStore.append([deposited(bad)]);
  const last = await appendAll(eventStore, good, 5);
  await processor.start();
  try {
    await whenChanged([processor], () => {
      const [s0, s1] = processor.status().segments;
      return s0?.position === last && s1?.error === "Error: Handler failed at 0";
    }, "segment 0 done while segment 1 reports its error");
    assertEquals(processor.status().segments[1].position, -1);
    assertEquals(await processor.deadLetters.count(rec.projection.name), 0);
    broken = false;
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    assertEquals(processor.status().error, false);
    assertExactlyOnce(rec.handled, last + 1);
  } finally {
    await processor.stop();
  }
});

Deno.test("TrackingProcessor dead-letters an undecodable payload at once", async () => {
  const { eventStore, options } = setup({ poison: { maxAttempts: 10 } });
  const rec = recorder();
  const processor = new TrackingProcessor(rec.projection, options);
  const good = deposited("agg-x");
  await eventStore.append([
    {
      ...deposited("agg-y"),
      payload: { type: DepositedEventSchema.typeName, revision: "9", data: new Uint8Array() },
    },
    good,
  ]);
  await processor.start();
  try {
    await processor.caughtUp(1, AbortSignal.timeout(5_000));
    const [letter] = await processor.deadLetters.list(rec.projection.name);
    assertEquals([letter.event.token, letter.attempts], [0, 1]);
    assert(letter.cause.startsWith("SerializationError: No upcaster"), letter.cause);
    assertEquals(rec.handled.map((h) => h.token), [1]);
  } finally {
    await processor.stop();
  }
});

Deno.test("TrackingProcessor batches handler calls in the projection's unit of work", async () => {
  const { eventStore, options } = setup({ batchSize: 50 });
  const units: number[] = [];
  let current = 0;
  const handled: number[] = [];
  const projection = defineProjection({
    name: "units",
    events: [DepositedEventSchema],
    handle(event) {
      current++;
      handled.push(event.token!);
      return Promise.resolve();
    },
    async unitOfWork<T>(work: () => Promise<T>): Promise<T> {
      current = 0;
      const result = await work();
      units.push(current);
      return result;
    },
  });
  const processor = new TrackingProcessor(projection, options);
  const last = await appendAll(eventStore, ["u1", "u2"], 60);
  await processor.start();
  try {
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    assertEquals(handled.length, 120);
    assert(units.every((n) => n <= 50), `batches ≤ 50: ${units}`);
    assert(units.length <= 6, `few units for a catch-up: ${units}`);
  } finally {
    await processor.stop();
  }
});
