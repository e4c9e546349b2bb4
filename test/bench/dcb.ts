/**
 * DCB benchmarks: conditional appends/s (one event each, synchronous FULL, 1 and 64 in flight, disjoint and
 * overlapping criteria) next to the aggregate append path (SqliteEventStore, one event per append) and raw
 * node:sqlite single-row commits in the same run; and sourcing 100 matching events out of a large store.
 *
 * `DCB_BENCH_EVENTS` sets the size of the large store (default 1,000,000).
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteEventStore } from "../../src/dendrite/sqlite/mod.ts";
import { ConcurrencyError } from "../../src/dendrite/mod.ts";
import { type Criterion, tag, type TaggedEvent } from "../../src/dendrite/dcb/mod.ts";
import { SqliteDcbEventStore } from "../../src/dendrite/sqlite/mod.ts";
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";

const payload = new TextEncoder().encode(
  JSON.stringify({ courseId: "c", studentId: "s", note: "x".repeat(40) }),
);

function dcbEvent(course: string, student: string): TaggedEvent {
  return {
    event: { name: "StudentSubscribed", payload },
    tags: [tag("course", course), tag("student", student)],
  };
}

/** Raw node:sqlite: one row per committed transaction, FULL. */
function rawCommits(path: string, count: number): number {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)");
  const insert = db.prepare("INSERT INTO t (payload) VALUES (?)");
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    db.exec("BEGIN IMMEDIATE");
    insert.run(payload);
    db.exec("COMMIT");
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return count / seconds;
}

/** Source + conditional append of one event, retried on a violation; `course(i)` picks the boundary. */
async function conditionalAppends(
  path: string,
  concurrency: number,
  course: (i: number) => string,
): Promise<{ perSecond: number; p99: number; retries: number }> {
  const store = new SqliteDcbEventStore({ path, synchronous: "FULL" });
  let retries = 0;
  const op = async (i: number) => {
    const criteria: Criterion[] = [{ names: ["StudentSubscribed"], tags: [tag("course", course(i))] }];
    while (true) {
      // Only the marker matters here; reading from the head keeps the cost of sourcing out of the append figure.
      const { marker } = await store.source(criteria, { from: Math.max(0, (await store.head()) - 1) });
      try {
        return await store.append([dcbEvent(course(i), `s${i}`)], { marker, criteria });
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        retries++;
      }
    }
  };
  const count = concurrency === 1 ? 1_000 : 3_000;
  const result = await measure(count, concurrency, op);
  store.close();
  return { perSecond: result.perSecond, p99: result.p99, retries };
}

async function aggregateAppends(path: string, concurrency: number): Promise<number> {
  const store = new SqliteEventStore({ path, synchronous: "FULL" });
  const sequences = new Map<string, number>();
  const count = concurrency === 1 ? 1_000 : 3_000;
  const result = await measure(count, concurrency, (i) => {
    const id = `agg-${i % 1_000}`;
    const sequence = sequences.get(id) ?? 0;
    sequences.set(id, sequence + 1);
    return store.append([{
      id: crypto.randomUUID(),
      timestamp: Date.now(),
      payload: { type: "example.v1.StudentSubscribed", revision: "", data: payload },
      metadata: {},
      aggregate: { type: "example.v1.Course", id, sequence },
    }]);
  });
  store.close();
  return result.perSecond;
}

/** Sourcing 100 events tagged `needle` out of `size` events; returns the store build time and source latencies. */
async function sourcing(
  path: string,
  size: number,
): Promise<{ p50: number; p99: number; buildSeconds: number }> {
  const store = new SqliteDcbEventStore({ path, synchronous: "NORMAL" });
  const started = performance.now();
  const every = Math.floor(size / 100);
  const batchSize = 10_000;
  for (let from = 0; from < size; from += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, size - from) }, (_, j) => {
      const i = from + j;
      const tagged = dcbEvent(`c${i % 5_000}`, `s${i % 50_000}`);
      return i % every === 0 ? { ...tagged, tags: [...tagged.tags, tag("needle", "yes")] } : tagged;
    });
    await store.append(batch);
  }
  const buildSeconds = (performance.now() - started) / 1000;
  const criteria = [{ names: ["StudentSubscribed"], tags: [tag("needle", "yes")] }];
  const found = (await store.source(criteria)).events.length;
  if (found !== 100) throw new Error(`Expected 100 matching events, sourced ${found}`);
  const result = await measure(200, 1, () => store.source(criteria));
  store.close();
  return { p50: result.p50, p99: result.p99, buildSeconds };
}

/** Runs the DCB scenarios. */
export async function benchDcb(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-dcb-" });
  const rows: BenchRow[] = [];
  try {
    const raw = rawCommits(join(dir, "raw.sqlite"), 1_000);
    for (const concurrency of [1, 64]) {
      const aggregate = await aggregateAppends(join(dir, `agg-${concurrency}.sqlite`), concurrency);
      rows.push(
        ratioRow(`Aggregate append, 1 event, FULL, ${concurrency} in flight`, "appends/s", aggregate, {
          name: "raw node:sqlite 1-row commits",
          value: raw,
        }, 0.5),
      );
      for (const overlap of [false, true]) {
        const label = overlap ? "overlapping (8 courses)" : "disjoint";
        const r = await conditionalAppends(
          join(dir, `dcb-${concurrency}-${label}.sqlite`),
          concurrency,
          overlap ? (i) => `c${i % 8}` : (i) => `c${i}`,
        );
        rows.push(
          ratioRow(
            `DCB conditional append, 1 event, FULL, ${concurrency} in flight, ${label}`,
            "appends/s",
            r.perSecond,
            {
              name: "aggregate append, same in flight",
              value: aggregate,
            },
            0.5,
            `p99 ${r.p99.toFixed(2)} ms, ${r.retries} retries`,
          ),
        );
      }
    }
    const size = Number(Deno.env.get("DCB_BENCH_EVENTS") ?? 1_000_000);
    const s = await sourcing(join(dir, "large.sqlite"), size);
    rows.push({
      scenario: `DCB source 100 matching of ${size.toLocaleString("en-US")} events`,
      metric: "p50 ms",
      value: s.p50,
      note: `store built in ${s.buildSeconds.toFixed(1)} s`,
    });
    rows.push({
      scenario: `DCB source 100 matching of ${size.toLocaleString("en-US")} events`,
      metric: "p99 ms",
      value: s.p99,
      target: "< 5 ms",
      met: s.p99 < 5,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) console.log(formatTable(await benchDcb()));
