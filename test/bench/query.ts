/**
 * Query-side benchmarks: catch-up rate of the greeter projection into the SQLite query model (in-process) next to
 * a raw sequential read of the same events; with ELASTICSEARCH_URL, the same catch-up into Elasticsearch next to a
 * raw `_bulk` and Search p99 there (`query_elasticsearch.ts`); and aggregate load time with a long history and snapshots on
 * against a short aggregate.
 *
 * `deno run -A test/bench/query.ts` prints the table.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  AggregateRepository,
  type EventRecord,
  MessageRegistry,
  newMessageId,
  TrackingProcessor,
} from "../../src/dendrite/mod.ts";
import {
  Sqlite,
  SqliteDeadLetterQueue,
  SqliteDocumentStore,
  SqliteEventStore,
  SqliteTokenStore,
} from "../../src/dendrite/sqlite/mod.ts";
import { Greeter, greeterModel, greeterProjection } from "../../src/example/greeter/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { type BenchRow, formatTable } from "./harness.ts";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { spawnReady } from "../child.ts";
import { benchElasticsearch } from "./query_elasticsearch.ts";

const CATCH_UP_EVENTS = 100_000;
const GREETERS = 100;
const LONG_HISTORY = 100_000;
const LOADS = 300;

function greetedRecords(
  registry: MessageRegistry,
  aggregateId: string,
  from: number,
  count: number,
): EventRecord[] {
  const records: EventRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      id: newMessageId(),
      timestamp: 1_700_000_000_000 + from + i,
      payload: registry.encode(
        create(domain.GreetedEventSchema, { greeterId: aggregateId, message: `hello number ${from + i}` }),
      ),
      metadata: {},
      aggregate: { type: Greeter.type, id: aggregateId, sequence: from + i },
    });
  }
  return records;
}

async function catchUp(
  dir: string,
  events: SqliteEventStore,
  registry: MessageRegistry,
): Promise<BenchRow[]> {
  const sequences = new Array<number>(GREETERS).fill(0);
  for (let start = 0; start < CATCH_UP_EVENTS; start += 1_000) {
    const batch: EventRecord[] = [];
    for (let i = start; i < start + 1_000; i++) {
      const g = i % GREETERS;
      batch.push(...greetedRecords(registry, `greeter-${g}`, sequences[g]++, 1));
    }
    await events.append(batch);
  }
  const last = await events.lastToken();

  let t0 = performance.now();
  let read = 0;
  for await (const _ of events.stream({ from: 0 })) read++;
  const rawRate = read / ((performance.now() - t0) / 1000);

  const writeRate = rawDocumentWrites(join(dir, "raw-write.sqlite"), CATCH_UP_EVENTS);
  const query = new Sqlite(join(dir, "query.sqlite"));
  try {
    const processor = new TrackingProcessor(
      greeterProjection(greeterModel(new SqliteDocumentStore({ sqlite: query }))),
      {
        eventStore: events,
        tokenStore: new SqliteTokenStore({ sqlite: query }),
        deadLetters: new SqliteDeadLetterQueue({ sqlite: query }),
        registry,
      },
    );
    t0 = performance.now();
    await processor.start();
    await processor.caughtUp(last);
    const rate = (last + 1) / ((performance.now() - t0) / 1000);
    await processor.stop();
    const viaSoma = await catchUpThroughSoma(dir, events, registry, last);
    const elasticsearch = await benchElasticsearch(events, registry, last, GREETERS);
    return [
      { scenario: "raw sequential read (SQLite event store)", metric: "events/s", value: rawRate },
      {
        scenario:
          "raw write of as many greeting documents (node:sqlite: row + FTS5 terms, 5,000 per commit, FULL)",
        metric: "documents/s",
        value: writeRate,
      },
      {
        scenario: `catch-up, greeter projection → SQLite query model (${
          CATCH_UP_EVENTS.toLocaleString("en-US")
        } events, in-process, synchronous=FULL)`,
        metric: "events/s",
        value: rate,
        limit: { name: "raw document write", value: writeRate },
        target: "≥ 100,000 events/s",
        met: rate >= 100_000,
      },
      {
        scenario:
          "catch-up, the same through the connector → soma over gRPC (ListEvents), soma in this process",
        metric: "events/s",
        value: viaSoma.inProcess,
        limit: { name: "in-process catch-up", value: rate },
      },
      {
        scenario:
          "catch-up, the same with soma in another process (a projection process and soma on 2 cores)",
        metric: "events/s",
        value: viaSoma.child,
        limit: { name: "in-process catch-up", value: rate },
      },
      ...elasticsearch,
    ];
  } finally {
    query.close();
  }
}

/**
 * The write floor of the query model: the greeting documents the projection writes (same id, body and text), put
 * with bare node:sqlite statements into the same tables, 5,000 per transaction. No reading, decoding or framework.
 */
function rawDocumentWrites(path: string, count: number): number {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL");
    db.exec(`CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
               UNIQUE (collection, id));
             CREATE VIRTUAL TABLE documents_text USING fts5 (text, content = '', contentless_delete = 1,
               tokenize = "unicode61 remove_diacritics 0");`);
    const insert = db.prepare(
      "INSERT INTO documents (collection, id, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    );
    const index = db.prepare("INSERT INTO documents_text (rowid, text) VALUES (?, ?)");
    const ids = Array.from({ length: count }, () => newMessageId());
    const t0 = performance.now();
    for (let start = 0; start < count; start += 5_000) {
      db.exec("BEGIN IMMEDIATE");
      const rows: [number | bigint, string][] = [];
      for (let i = start; i < Math.min(count, start + 5_000); i++) {
        const document = { message: `hello number ${i}`, greeterId: `greeter-${i % GREETERS}`, greetedAt: i };
        rows.push([
          insert.run("greetings", ids[i], JSON.stringify(document)).lastInsertRowid,
          document.message,
        ]);
      }
      for (const [rowid, text] of rows) index.run(rowid, text);
      db.exec("COMMIT");
    }
    return count / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}

/** The same catch-up with the events read by the connector from soma at `address` (a projection process). */
async function catchUpFrom(
  address: string,
  queryPath: string,
  registry: MessageRegistry,
  last: number,
  token?: string,
): Promise<number> {
  const axon = await connectAxon(
    { address, componentName: "bench-projection", token, onStateChange: () => {} },
    registry,
    AbortSignal.timeout(10_000),
  );
  const query = new Sqlite(queryPath);
  try {
    const processor = new TrackingProcessor(
      greeterProjection(greeterModel(new SqliteDocumentStore({ sqlite: query }))),
      {
        eventStore: axon.eventStore,
        tokenStore: new SqliteTokenStore({ sqlite: query }),
        deadLetters: new SqliteDeadLetterQueue({ sqlite: query }),
        registry,
      },
    );
    const t0 = performance.now();
    await processor.start();
    await processor.caughtUp(last);
    const rate = (last + 1) / ((performance.now() - t0) / 1000);
    await processor.stop();
    return rate;
  } finally {
    query.close();
    await axon.close();
  }
}

/** soma's access token in the child process (a random one for each run). */
const BENCH_TOKEN = crypto.randomUUID();

/** Catch-up from soma in this process (sharing its thread) and from soma in a child process on the same file. */
async function catchUpThroughSoma(
  dir: string,
  events: SqliteEventStore,
  registry: MessageRegistry,
  last: number,
): Promise<{ inProcess: number; child: number }> {
  const soma = await startSoma({ eventStore: events, port: 0, httpPort: false, registry });
  let inProcess: number;
  try {
    inProcess = await catchUpFrom(
      `127.0.0.1:${soma.port}`,
      join(dir, "query-via-soma.sqlite"),
      registry,
      last,
    );
  } finally {
    await soma.close();
  }
  // src/soma/main.ts keeps its events in <DATA_DIR>/events.sqlite: the very file of this benchmark.
  const { child, line } = await spawnReady(new URL("../../src/soma/main.ts", import.meta.url), {
    env: {
      DATA_DIR: dir,
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      AXON_HOST: "127.0.0.1",
      AXON_TOKEN: BENCH_TOKEN,
    },
  });
  try {
    const port = (JSON.parse(line) as { port: number }).port;
    const childPath = join(dir, "query-via-soma-child.sqlite");
    return {
      inProcess,
      child: await catchUpFrom(`127.0.0.1:${port}`, childPath, registry, last, BENCH_TOKEN),
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

async function aggregateLoad(events: SqliteEventStore, registry: MessageRegistry): Promise<BenchRow[]> {
  for (let start = 0; start < LONG_HISTORY; start += 1_000) {
    await events.append(greetedRecords(registry, "long", start, Math.min(1_000, LONG_HISTORY - start)));
  }
  // The snapshots the greeter's policy writes along the way.
  const every = Greeter.snapshot!.every;
  for (let sequence = every - 1; sequence < LONG_HISTORY; sequence += every) {
    await events.appendSnapshot({
      id: newMessageId(),
      timestamp: Date.now(),
      payload: {
        type: domain.GreeterStateSchema.typeName,
        revision: "",
        data: toBinary(
          domain.GreeterStateSchema,
          create(domain.GreeterStateSchema, { recording: true, greetingCount: BigInt(sequence + 1) }),
        ),
      },
      metadata: {},
      aggregate: { type: Greeter.type, id: "long", sequence },
    });
  }
  await events.append(greetedRecords(registry, "short", 0, 10));
  const repository = new AggregateRepository(Greeter, { eventStore: events, registry, cacheSize: 0 });
  const time = async (id: string) => {
    const t0 = performance.now();
    await repository.load(id);
    return performance.now() - t0;
  };
  for (let i = 0; i < 20; i++) await Promise.all([time("long"), time("short")]);
  let long = 0;
  let short = 0;
  for (let i = 0; i < LOADS; i++) {
    long += await time("long");
    short += await time("short");
  }
  const longMs = long / LOADS;
  const shortMs = short / LOADS;
  const loaded = await repository.load("long");
  if (loaded.state.greetingCount !== BigInt(LONG_HISTORY)) {
    throw new Error("The long aggregate loaded wrongly");
  }
  // The worst case: one event short of the next snapshot.
  await events.append(greetedRecords(registry, "long", LONG_HISTORY, every - 1));
  let tail = 0;
  for (let i = 0; i < LOADS; i++) tail += await time("long");
  const tailMs = tail / LOADS;
  return [
    { scenario: "aggregate load, 10 events, no snapshot", metric: "ms/load", value: shortMs },
    {
      scenario: `aggregate load, ${
        LONG_HISTORY.toLocaleString("en-US")
      } events, snapshots every ${every} (latest at the last event)`,
      metric: "ms/load",
      value: longMs,
      limit: { name: "10-event aggregate", value: shortMs },
      target: "≤ 2× the 10-event load",
      met: longMs <= 2 * shortMs,
    },
    {
      scenario: `aggregate load, the same plus ${every - 1} events after the latest snapshot (worst case)`,
      metric: "ms/load",
      value: tailMs,
      limit: { name: "10-event aggregate", value: shortMs },
      target: "≤ 2× the 10-event load",
      met: tailMs <= 2 * shortMs,
    },
  ];
}

/** Runs the query-side scenarios (about 10–20 s on a 2-core machine). */
export async function benchQuery(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-bench-query-" });
  const events = new SqliteEventStore({ path: join(dir, "events.sqlite") });
  const registry = new MessageRegistry([domain.GreetedEventSchema, domain.GreeterStateSchema]);
  try {
    return [...await catchUp(dir, events, registry), ...await aggregateLoad(events, registry)];
  } finally {
    events.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.log(formatTable(await benchQuery()));
