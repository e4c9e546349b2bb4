/**
 * Foundation benchmarks: the SQLite event store against a raw `node:sqlite` batched insert of the same rows,
 * and in-process Greet commands (command bus → repository → SQLite) with latency percentiles.
 *
 * @module
 */
import { meteredCommandBus, Metrics } from "../../src/dendrite/observability/mod.ts";
import { create } from "@bufbuild/protobuf";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  type EventRecord,
  LocalCommandBus,
  MessageRegistry,
  registerAggregate,
} from "../../src/dendrite/mod.ts";
import { SqliteEventStore, type Synchronous } from "../../src/dendrite/sqlite/mod.ts";
import { Greeter } from "../../src/example/greeter/aggregate.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";

const BATCHES = 300;
const PER_BATCH = 100;
const registry = new MessageRegistry([domain.GreetedEventSchema]);

function batch(aggregate: string, from: number): EventRecord[] {
  return Array.from({ length: PER_BATCH }, (_, i) => ({
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: registry.encode(
      create(domain.GreetedEventSchema, {
        greeterId: aggregate,
        message: `a greeting of some length, #${from + i}`,
      }),
    ),
    metadata: { correlation_id: crypto.randomUUID() },
    aggregate: { type: "example.v1.Greeter", id: aggregate, sequence: from + i },
  }));
}

/** Raw node:sqlite: the same table and index, the same rows, one transaction per 100 rows. */
function rawInsert(path: string, synchronous: Synchronous, batches: EventRecord[][]): number {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};`);
  db.exec(`CREATE TABLE events (token INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT,
    aggregate_type TEXT, seq INTEGER, timestamp INTEGER NOT NULL, payload_type TEXT NOT NULL,
    payload_revision TEXT NOT NULL, payload BLOB NOT NULL, metadata TEXT);
    CREATE UNIQUE INDEX events_aggregate ON events (aggregate_id, seq) WHERE aggregate_id IS NOT NULL;`);
  const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  let token = 0;
  const started = performance.now();
  for (const rows of batches) {
    db.exec("BEGIN");
    for (const e of rows) {
      insert.run(
        token++,
        e.id,
        e.aggregate!.id,
        e.aggregate!.type,
        e.aggregate!.sequence,
        e.timestamp,
        e.payload.type,
        e.payload.revision,
        e.payload.data,
        JSON.stringify(e.metadata),
      );
    }
    db.exec("COMMIT");
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return (batches.length * PER_BATCH) / seconds;
}

async function storeAppend(
  path: string,
  synchronous: Synchronous,
  batches: EventRecord[][],
): Promise<number> {
  const store = new SqliteEventStore({ path, synchronous });
  const started = performance.now();
  for (const rows of batches) await store.append(rows);
  const seconds = (performance.now() - started) / 1000;
  store.close();
  return (batches.length * PER_BATCH) / seconds;
}

async function greetThroughput(
  dir: string,
  synchronous: Synchronous,
  concurrency: number,
  metered = false,
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const eventStore = new SqliteEventStore({
    path: join(dir, `greet-${synchronous}-${concurrency}${metered ? "-metered" : ""}.sqlite`),
    synchronous,
  });
  // With metrics: the bus the program uses (dispatch and handling counted and timed, no OpenTelemetry).
  const commandBus = metered
    ? meteredCommandBus(new LocalCommandBus(), new Metrics({ meter: false }))
    : new LocalCommandBus();
  await registerAggregate(commandBus, Greeter, { eventStore, registry: new MessageRegistry() });
  const greeters = 1_000;
  const send = (i: number) =>
    commandBus.dispatch(
      create(domain.GreetCommandSchema, { greeterId: `g${i % greeters}`, message: `hello ${i}` }),
      {
        routingKey: `g${i % greeters}`,
      },
    );
  await measure(2_000, concurrency, send); // warm-up: loads every greeter into the cache
  const result = await measure(concurrency === 1 ? 5_000 : 20_000, concurrency, (i) => send(i + 2_000));
  eventStore.close();
  return result;
}

/** Runs the foundation scenarios. */
export async function benchFoundation(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-foundation-" });
  const rows: BenchRow[] = [];
  try {
    for (const synchronous of ["FULL", "NORMAL"] as const) {
      const batches = Array.from(
        { length: BATCHES },
        (_, b) => batch(`agg-${b % 10}`, Math.floor(b / 10) * PER_BATCH),
      );
      const raw = rawInsert(join(dir, `raw-${synchronous}.sqlite`), synchronous, batches);
      const ours = await storeAppend(join(dir, `store-${synchronous}.sqlite`), synchronous, batches);
      rows.push(
        ratioRow(`SQLite append, 100 events/tx, ${synchronous}`, "events/s", ours, {
          name: "raw node:sqlite",
          value: raw,
        }, 0.5),
      );
    }
    for (const synchronous of ["FULL", "NORMAL"] as const) {
      for (const concurrency of [1, 8]) {
        const r = await greetThroughput(dir, synchronous, concurrency);
        const scenario = `Greet in-process, ${synchronous}, ${concurrency} in flight`;
        rows.push({
          scenario,
          metric: "commands/s",
          value: r.perSecond,
          target: "≥ 10,000",
          met: r.perSecond >= 10_000,
        });
        rows.push({ scenario, metric: "p50 ms", value: r.p50 });
        rows.push({ scenario, metric: "p99 ms", value: r.p99, target: "< 2 ms", met: r.p99 < 2 });
        if (synchronous === "NORMAL" && concurrency === 8) {
          const metered = await greetThroughput(dir, synchronous, concurrency, true);
          rows.push(
            ratioRow(`${scenario}, with metrics`, "commands/s", metered.perSecond, {
              name: "the same without metrics",
              value: r.perSecond,
            }, 0.9),
          );
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) console.log(formatTable(await benchFoundation()));
