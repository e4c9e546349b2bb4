import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { assert, assertEquals } from "../../../test/assert.ts";
import { advanceUntil } from "../../../test/processing/changes.ts";
import { DepositedEventSchema } from "../../gen/test/v1/account_pb.ts";
import { raceAbort } from "../core/async.ts";
import { isTransient, TransientError } from "../core/errors.ts";
import { MessageRegistry } from "../core/registry.ts";
import { GrpcError } from "../axon/rpc.ts";
import { asTransient } from "../elasticsearch/transient.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
import { InMemoryTokenStore } from "./memory_token_store.ts";
import { outageDelayMs } from "./outage.ts";
import { TrackingProcessor } from "./processor.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { defineProjection } from "./projection.ts";

const registry = new MessageRegistry([DepositedEventSchema]);

/** A projection writing into a map that fails on demand: `down` → store unavailable, `poison` → handler bug. */
function flakyModel() {
  const model = new Map<string, string>();
  const state = { down: false, poison: new Set<string>() };
  const projection = defineProjection({
    name: `outage-${crypto.randomUUID()}`,
    events: [DepositedEventSchema],
    handle(event) {
      if (state.down) return Promise.reject(new TransientError("store unavailable: connection refused"));
      if (state.poison.has(event.payload.note)) return Promise.reject(new Error("cannot handle this one"));
      model.set(event.id, event.payload.note);
      return Promise.resolve();
    },
  });
  return { model, state, projection };
}

function setup() {
  const clock = new ManualClock(1_000_000);
  const eventStore = new InMemoryEventStore();
  const deadLetters = new InMemoryDeadLetterQueue({ now: () => clock.now() });
  const flaky = flakyModel();
  /** Clock times of the outage reports: the waits between them are the back-off. */
  const outages: number[] = [];
  const processor = new TrackingProcessor(flaky.projection, {
    eventStore,
    tokenStore: new InMemoryTokenStore({ now: () => clock.now() }),
    deadLetters,
    registry,
    claimTimeoutMs: 400,
    claimIntervalMs: 40,
    flushIntervalMs: 20,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    poison: { maxAttempts: 3 },
    outage: { baseDelayMs: 10, maxDelayMs: 80 },
    clock,
    onError: (error) => {
      if (isTransient(error)) outages.push(clock.now());
    },
  });
  let sequence = 0;
  const deposit = (message: string) =>
    eventStore.append([{
      id: crypto.randomUUID(),
      timestamp: clock.now(),
      payload: registry.encode(create(DepositedEventSchema, { accountId: "g-1", note: message })),
      metadata: {},
      aggregate: { type: "test.v1.Account", id: "g-1", sequence: sequence++ },
    }]);
  return { eventStore, deadLetters, clock, outages, processor, deposit, ...flaky };
}

/** The waits between consecutive outage reports. */
function waits(outages: readonly number[]): number[] {
  return outages.slice(1).map((at, i) => at - outages[i]);
}

Deno.test("an outage far longer than the poison budget dead-letters nothing; the batch is retried until the store is back", async () => {
  const { eventStore, deadLetters, clock, outages, processor, deposit, model, state } = setup();
  state.down = true;
  for (const m of ["a", "b", "c"]) await deposit(m);
  await processor.start();
  try {
    // Ten times the poison budget of three attempts, on the injected clock.
    await advanceUntil(clock, () => outages.length >= 30, "30 outage retries", 10, 5_000);
    const status = processor.status();
    assert(status.error, "the outage shows on the status");
    assertEquals(status.segments[0].error, "TransientError: store unavailable: connection refused");
    assertEquals(status.deadLettered, 0);
    assertEquals(await deadLetters.count(processor.name), 0);
    assertEquals(waits(outages).slice(0, 6), [10, 20, 40, 80, 80, 80], "exponential, capped");
    state.down = false;
    await clock.advance(80);
    await processor.caughtUp(await eventStore.lastToken(), AbortSignal.timeout(5_000));
    assertEquals([...model.values()].sort(), ["a", "b", "c"]);
    assertEquals(processor.status().error, false);
    assertEquals(await deadLetters.count(processor.name), 0);
  } finally {
    await processor.stop();
  }
});

Deno.test("a handler error is still poison: dead-lettered after maxAttempts, outages before it not counted", async () => {
  const { eventStore, deadLetters, clock, outages, processor, deposit, model, state } = setup();
  state.down = true;
  state.poison.add("bad");
  for (const m of ["ok-1", "bad", "ok-2"]) await deposit(m);
  await processor.start();
  try {
    await advanceUntil(clock, () => outages.length >= 10, "10 outage retries", 10, 5_000);
    assertEquals(await deadLetters.count(processor.name), 0);
    state.down = false;
    const last = await eventStore.lastToken();
    await advanceUntil(clock, () => processor.status().segments[0]?.position === last, "the end", 1, 1_000);
    await processor.caughtUp(last, AbortSignal.timeout(5_000));
    const letters = await deadLetters.list(processor.name);
    assertEquals(letters.map((l) => [l.attempts, l.cause]), [
      [3, "Error: cannot handle this one"],
      [0, 'Queued behind a dead letter of "g-1"'],
    ]);
    assertEquals([...model.values()], ["ok-1"], "ok-2 is queued behind the dead letter of its aggregate");
  } finally {
    await processor.stop();
  }
});

Deno.test("the stop signal ends an outage wait", async () => {
  const clock = new ManualClock();
  const eventStore = new InMemoryEventStore();
  const { projection, state } = flakyModel();
  state.down = true;
  const processor = new TrackingProcessor(projection, {
    eventStore,
    tokenStore: new InMemoryTokenStore({ now: () => clock.now() }),
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
    outage: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
    clock,
    onError: () => {},
  });
  await eventStore.append([{
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: registry.encode(create(DepositedEventSchema, { accountId: "g", note: "m" })),
    metadata: {},
  }]);
  await processor.start();
  const signal = AbortSignal.timeout(5_000);
  while (!processor.status().error) await processor.changed(signal);
  // The clock never moves: stop() resolving at all shows that it does not wait out the 60 s back-off.
  await raceAbort(processor.stop(), AbortSignal.timeout(5_000));
  assertEquals(clock.sleeping, 0, "no wait is left behind");
  assertEquals(processor.status().running, false);
});

Deno.test("outageDelayMs doubles from the base up to the cap", () => {
  assertEquals([0, 1, 2, 3, 10, 100].map((a) => outageDelayMs(a)), [200, 400, 800, 1_600, 10_000, 10_000]);
  assertEquals([0, 1, 5].map((a) => outageDelayMs(a, { baseDelayMs: 50, maxDelayMs: 300 })), [50, 100, 300]);
});

Deno.test("isTransient: Elasticsearch unavailability, SQLITE_BUSY and gRPC UNAVAILABLE; not handler errors", async () => {
  const esError = (name: string, statusCode?: number) =>
    Object.assign(new Error("es"), { name, ...(statusCode ? { meta: { statusCode } } : {}) });
  for (
    const e of [esError("ConnectionError"), esError("TimeoutError"), esError("NoLivingConnectionsError")]
  ) {
    assert(asTransient(e) instanceof TransientError, e.name);
  }
  for (const status of [429, 502, 503, 504]) {
    assert(isTransient(asTransient(esError("ResponseError", status))));
  }
  for (const status of [400, 404, 409, 500]) {
    assert(!isTransient(asTransient(esError("ResponseError", status))));
  }
  assert(isTransient(new ConnectError("down", Code.Unavailable)));
  assert(!isTransient(new ConnectError("bad", Code.InvalidArgument)));
  assert(isTransient(new GrpcError(14, "Axon connector: server unavailable")));
  assert(!isTransient(new GrpcError(3, "Axon connector: invalid argument")));
  assert(isTransient(new Error("wrapped", { cause: new TransientError("inner") })));
  assert(!isTransient(new Error("a handler bug")));

  const dir = await Deno.makeTempDir();
  const [a, b] = [new DatabaseSync(join(dir, "db")), new DatabaseSync(join(dir, "db"))];
  try {
    a.exec("CREATE TABLE t (x)");
    a.exec("BEGIN IMMEDIATE");
    let busy: unknown;
    try {
      b.exec("BEGIN IMMEDIATE");
    } catch (error) {
      busy = error;
    }
    assert(busy !== undefined && isTransient(busy), `SQLITE_BUSY is transient: ${busy}`);
    let bad: unknown;
    try {
      b.exec("SELECT * FROM missing");
    } catch (error) {
      bad = error;
    }
    assert(bad !== undefined && !isTransient(bad), "a missing table is not");
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
