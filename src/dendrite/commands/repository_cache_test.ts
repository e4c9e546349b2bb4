import { join } from "node:path";
import { assertEquals, eventually } from "../../../test/assert.ts";
import { Account, type account, deposit } from "../../../test/fixtures/account.ts";
import { ConcurrencyError } from "../core/errors.ts";
import { type CommandMessage, envelope } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import type {
  AggregateEventRecord,
  AppendResult,
  CallOptions,
  EventRecord,
  EventStore,
  ReadAggregateOptions,
} from "../eventstore/event_store.ts";
import { SqliteEventStore } from "../eventstore/sqlite.ts";
import { AggregateRepository } from "./repository.ts";

/** Counts what the repository asks of the store. */
class CountingStore {
  reads = 0;
  readRecords: { snapshot: boolean; sequence: number }[] = [];
  conflicts = 0;
  constructor(readonly inner: EventStore) {}

  wrap(): EventStore {
    const inner = this.inner;
    return {
      append: async (events: readonly EventRecord[], options?: CallOptions): Promise<AppendResult> => {
        try {
          return await inner.append(events, options);
        } catch (error) {
          if (error instanceof ConcurrencyError) this.conflicts++;
          throw error;
        }
      },
      readAggregate: (id: string, options?: ReadAggregateOptions): AsyncIterable<AggregateEventRecord> => {
        this.reads++;
        const records = this.readRecords;
        return (async function* () {
          for await (const record of inner.readAggregate(id, options)) {
            records.push({ snapshot: record.snapshot === true, sequence: record.aggregate.sequence });
            yield record;
          }
        })();
      },
      highestSequence: (id, options) => inner.highestSequence(id, options),
      appendSnapshot: (snapshot, options) => inner.appendSnapshot(snapshot, options),
      readSnapshots: (id, options) => inner.readSnapshots(id, options),
      stream: (options) => inner.stream(options),
      firstToken: (options) => inner.firstToken(options),
      lastToken: (options) => inner.lastToken(options),
      tokenAt: (timestamp, options) => inner.tokenAt(timestamp, options),
    };
  }
}

function pay(accountId: string, note: string): CommandMessage<account.DepositCommand> {
  return { ...envelope(deposit(accountId, 1n, note)), routingKey: accountId };
}

async function withStore(fn: (store: SqliteEventStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-repo-" });
  const store = new SqliteEventStore({ path: join(dir, "events.sqlite") });
  try {
    await fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("AggregateRepository loads the latest snapshot plus the events after it", () =>
  withStore(async (sqlite) => {
    const registry = new MessageRegistry();
    const every = Account.snapshot!.every;
    const total = 12 * every + every / 2; // the latest snapshot, then half an interval of events
    const latest = 12 * every - 1;
    const writer = new AggregateRepository(Account, { eventStore: sqlite, registry });
    for (let i = 0; i < total; i++) await writer.handle(pay("g", `hello ${i}`));
    await eventually(
      async () => {
        for await (const s of sqlite.readSnapshots("g", { maxResults: 1 })) {
          return s.aggregate.sequence === latest;
        }
        return false;
      },
      5_000,
      `the snapshot at ${latest}`,
    );

    const counting = new CountingStore(sqlite);
    const reader = new AggregateRepository(Account, { eventStore: counting.wrap(), registry });
    const loaded = await reader.load("g");
    assertEquals([loaded.state.deposits, loaded.sequence], [BigInt(total), total - 1]);
    assertEquals(counting.readRecords[0], { snapshot: true, sequence: latest });
    assertEquals(
      counting.readRecords.slice(1).map((r) => r.sequence),
      Array.from({ length: total - 1 - latest }, (_, i) => latest + 1 + i),
    );
  }));

Deno.test("AggregateRepository cache tracks the sequence: no conflict, one read for many commands", () =>
  withStore(async (sqlite) => {
    const counting = new CountingStore(sqlite);
    const repository = new AggregateRepository(Account, {
      eventStore: counting.wrap(),
      registry: new MessageRegistry(),
    });
    for (let i = 0; i < 60; i++) await repository.handle(pay("hot", `hi ${i}`));
    assertEquals([counting.reads, counting.conflicts], [1, 0]);
    assertEquals(await sqlite.highestSequence("hot"), 59);
    const state = (await repository.load("hot")).state;
    assertEquals(state.deposits, 60n);
  }));

Deno.test("AggregateRepository detects another process's append: conflict, evict, reload, retry", () =>
  withStore(async (sqlite) => {
    const counting = new CountingStore(sqlite);
    const registry = new MessageRegistry();
    const mine = new AggregateRepository(Account, { eventStore: counting.wrap(), registry });
    const theirs = new AggregateRepository(Account, { eventStore: sqlite, registry });
    await mine.handle(pay("shared", "one"));
    await theirs.handle(pay("shared", "two"));
    await mine.handle(pay("shared", "three"));
    assertEquals([counting.conflicts, counting.reads], [1, 2]);
    assertEquals((await mine.load("shared")).sequence, 2);
    const notes: string[] = [];
    for await (const record of sqlite.readAggregate("shared")) {
      notes.push((registry.decode(record.payload) as account.DepositedEvent).note);
    }
    assertEquals(notes, ["one", "two", "three"]);
    // The cache is right again: the next command needs no read and meets no conflict.
    await mine.handle(pay("shared", "four"));
    assertEquals([counting.conflicts, counting.reads], [1, 2]);
  }));
