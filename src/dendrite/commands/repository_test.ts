import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import { Account, account, AccountErrors, deposit } from "../../../test/fixtures/account.ts";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { ConcurrencyError, DomainError } from "../core/errors.ts";
import { type CommandMessage, envelope } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import type { EventRecord, EventStore, ReadAggregateOptions } from "../eventstore/event_store.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { SqliteEventStore } from "../eventstore/sqlite.ts";
import { AggregateRepository } from "./repository.ts";

/** Counts what the repository asks of the store. */
class CountingStore implements EventStore {
  conflicts = 0;
  reads = 0;
  eventsRead = 0;
  appends = 0;
  constructor(readonly inner: EventStore) {}
  async append(events: readonly EventRecord[]) {
    this.appends++;
    try {
      return await this.inner.append(events);
    } catch (error) {
      if (error instanceof ConcurrencyError) this.conflicts++;
      throw error;
    }
  }
  async *readAggregate(id: string, options?: ReadAggregateOptions) {
    this.reads++;
    for await (const event of this.inner.readAggregate(id, options)) {
      this.eventsRead++;
      yield event;
    }
  }
  highestSequence = (id: string) => this.inner.highestSequence(id);
  appendSnapshot: EventStore["appendSnapshot"] = (s) => this.inner.appendSnapshot(s);
  readSnapshots: EventStore["readSnapshots"] = (id, o) => this.inner.readSnapshots(id, o);
  stream: EventStore["stream"] = (o) => this.inner.stream(o);
  firstToken = () => this.inner.firstToken();
  lastToken = () => this.inner.lastToken();
  tokenAt = (t: number) => this.inner.tokenAt(t);
}

function pay(note: string, accountId = "main"): CommandMessage<account.DepositCommand> {
  return { ...envelope(deposit(accountId, 1n, note)), routingKey: accountId };
}

async function sequencesOf(store: EventStore, id: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of store.readAggregate(id)) out.push(e.aggregate.sequence);
  return out;
}

Deno.test("two writers on one aggregate: one retries, no gap, no duplicate", async () => {
  const dir = await Deno.makeTempDir();
  const sqlite = new SqliteEventStore({ path: join(dir, "events.sqlite") });
  const store = new CountingStore(sqlite);
  try {
    // Two repositories stand for two processes: each has its own cache and lock.
    const a = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
    const b = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
    await a.handle(pay("first"));
    await b.handle(pay("second")); // b loads, now both caches are at sequence 1
    const results = await Promise.all([a.handle(pay("from a")), b.handle(pay("from b"))]);
    assertEquals(results.length, 2);
    assert(store.conflicts >= 1, `expected a conflict, saw ${store.conflicts}`);
    assertEquals(await sequencesOf(sqlite, "main"), [0, 1, 2, 3]);
    const notes: string[] = [];
    const registry = new MessageRegistry([account.DepositedEventSchema]);
    for await (const e of sqlite.readAggregate("main")) {
      notes.push((registry.decode(e.payload) as account.DepositedEvent).note);
    }
    assertEquals(notes.slice(0, 2), ["first", "second"]);
    assertEquals(notes.slice(2).sort(), ["from a", "from b"]);
  } finally {
    sqlite.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("one process: concurrent commands on one aggregate never conflict, load once and append together", async () => {
  const store = new CountingStore(new InMemoryEventStore());
  const repository = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  await Promise.all(Array.from({ length: 50 }, (_, i) => repository.handle(pay(`hello ${i}`))));
  assertEquals(store.conflicts, 0);
  assertEquals(store.reads, 1);
  assertEquals(store.appends, 1); // queued together: one transaction for the 50 decisions
  assertEquals(await sequencesOf(store.inner, "main"), Array.from({ length: 50 }, (_, i) => i));
});

Deno.test("commands that reach the repository a few awaits apart in one turn share one batch", async () => {
  // As from many HTTP connections: each request passes its own chain of awaits (body, interceptors) before it
  // dispatches, so the commands of one turn arrive microtasks apart; the first must not leave alone.
  const store = new CountingStore(new InMemoryEventStore());
  const repository = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  const arriving = Array.from({ length: 16 }, async (_, i) => {
    for (let hop = 0; hop < 3 * i; hop++) await Promise.resolve();
    return await repository.handle(pay(`request ${i}`));
  });
  await Promise.all(arriving);
  assertEquals(store.reads, 1);
  assertEquals(store.appends, 1);
  assertEquals(await sequencesOf(store.inner, "main"), Array.from({ length: 16 }, (_, i) => i));
});

Deno.test("a refused command appends nothing and the refusal keeps its code", async () => {
  const store = new InMemoryEventStore();
  const repository = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  await repository.handle({
    ...envelope(create(account.FreezeCommandSchema, { accountId: "main" })),
    routingKey: "main",
  });
  const error = await assertRejects(() => repository.handle(pay("refused")), DomainError);
  assertEquals(error.code, AccountErrors.FROZEN);
  assertEquals(await store.lastToken(), 0);
});

Deno.test("loads from the latest snapshot plus the tail", async () => {
  const store = new CountingStore(new InMemoryEventStore());
  const every = Account.snapshot!.every;
  const writer = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  for (let i = 0; i < 2 * every + every / 2; i++) await writer.handle(pay(`g${i}`));
  // Snapshots are written in the background after the append that crosses the interval.
  const snapshots: number[] = [];
  for await (const s of store.readSnapshots("main")) snapshots.push(s.aggregate.sequence);
  assertEquals(snapshots, [2 * every - 1, every - 1]);
  const reader = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  store.eventsRead = 0;
  const loaded = await reader.load("main");
  assertEquals(loaded.sequence, 2 * every + every / 2 - 1);
  assertEquals(loaded.state.deposits, BigInt(2 * every + every / 2));
  assertEquals(store.eventsRead, 1 + every / 2); // the latest snapshot and the events after it
});

Deno.test("gives up after the retry budget with the ConcurrencyError", async () => {
  const inner = new InMemoryEventStore();
  const store = new CountingStore(inner);
  store.append = (_events) => {
    store.conflicts++;
    return Promise.reject(new ConcurrencyError("always taken"));
  };
  const repository = new AggregateRepository(Account, {
    eventStore: store,
    registry: new MessageRegistry(),
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
  });
  await assertRejects(() => repository.handle(pay("never")), ConcurrencyError);
  assertEquals(store.conflicts, 3);
  assertEquals(store.reads, 3); // evicted and reloaded before each retry
});

Deno.test("in a batch, a refused command fails alone and each result reflects its own command", async () => {
  const store = new InMemoryEventStore();
  const repository = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  const stop = {
    ...envelope(create(account.FreezeCommandSchema, { accountId: "main" })),
    routingKey: "main",
  };
  const record = {
    ...envelope(create(account.UnfreezeCommandSchema, { accountId: "main" })),
    routingKey: "main",
  };
  const outcomes = await Promise.allSettled([
    repository.handle(pay("before")),
    repository.handle(stop),
    repository.handle(pay("while frozen")),
    repository.handle(record),
    repository.handle(pay("after")),
  ]);
  assertEquals(outcomes.map((o) => o.status), [
    "fulfilled",
    "fulfilled",
    "rejected",
    "fulfilled",
    "fulfilled",
  ]);
  const refused = (outcomes[2] as PromiseRejectedResult).reason;
  assert(refused instanceof DomainError && refused.code === AccountErrors.FROZEN);
  assertEquals((outcomes[1] as PromiseFulfilledResult<account.FrozenState>).value.frozen, true);
  assertEquals((outcomes[3] as PromiseFulfilledResult<account.FrozenState>).value.frozen, false);
  const ids: string[] = [];
  for await (const e of store.readAggregate("main")) ids.push(e.id);
  assertEquals(ids.length, 4); // deposited, frozen, unfrozen, deposited
  const firstReceipt = (outcomes[0] as PromiseFulfilledResult<account.Receipt>).value;
  assertEquals(firstReceipt.id, ids[0]);
  assertEquals((outcomes[4] as PromiseFulfilledResult<account.Receipt>).value.id, ids[3]);
});

Deno.test("a command whose signal aborted while queued is not applied", async () => {
  const store = new InMemoryEventStore();
  const repository = new AggregateRepository(Account, { eventStore: store, registry: new MessageRegistry() });
  const controller = new AbortController();
  const kept = repository.handle(pay("kept"));
  const dropped = repository.handle(pay("dropped"), controller.signal);
  controller.abort(new Error("caller gave up"));
  await kept;
  await assertRejects(() => dropped, Error, "caller gave up");
  assertEquals(await store.lastToken(), 0);
});
