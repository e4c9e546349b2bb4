/**
 * soma benchmarks, each next to its physical limit measured in the same run:
 * - AppendEvent in-process and over gRPC (100 events per transaction) vs a raw `node:sqlite` batched insert of the
 *   same rows (synchronous FULL and NORMAL);
 * - ListEvents read rate over gRPC vs a raw grpc-js bidi stream of messages of the same size, written the same way;
 * - RSS of a soma process while it stores 1M events (child process): at 100k, 500k and 1M; "does not grow with the
 *   number of events" is judged from 500k to 1M, after the allocator and SQLite caches have warmed up.
 *
 * `deno run -A test/bench/soma.ts` prints the rows.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import type { EventRecord } from "../../src/dendrite/mod.ts";
import type { Synchronous } from "../../src/dendrite/sqlite/mod.ts";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import { EventStore, EventWithTokenSchema, GetEventsRequestSchema } from "../../src/gen/axon/event_pb.ts";
import { toAxonEvent } from "../../src/dendrite/axon/protocol/messages.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { framedWriter } from "../../src/soma/streams.ts";
import { type BenchRow, formatTable, ratioRow } from "./harness.ts";

const PER_TX = 100;
const PAYLOAD = new Uint8Array(190).fill(7);

function records(batch: number): EventRecord[] {
  return Array.from({ length: PER_TX }, (_, i) => ({
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: "bench.v1.Happened", revision: "", data: PAYLOAD },
    metadata: {},
    aggregate: { type: "Bench", id: `agg-${batch}`, sequence: i },
  }));
}

/** Raw node:sqlite: the same table and index as the SQLite event store, 100 rows per transaction. */
function rawSqlite(path: string, synchronous: Synchronous, total: number): number {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  db.exec(`CREATE TABLE events (token INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT,
    aggregate_type TEXT, seq INTEGER, timestamp INTEGER NOT NULL, payload_type TEXT NOT NULL,
    payload_revision TEXT NOT NULL, payload BLOB NOT NULL, metadata TEXT);
    CREATE UNIQUE INDEX events_aggregate ON events (aggregate_id, seq) WHERE aggregate_id IS NOT NULL;`);
  const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const started = performance.now();
  let token = 0;
  for (let batch = 0; batch < total / PER_TX; batch++) {
    db.exec("BEGIN IMMEDIATE");
    for (const r of records(batch)) {
      insert.run(
        token++,
        r.id,
        r.aggregate!.id,
        r.aggregate!.type,
        r.aggregate!.sequence,
        r.timestamp,
        r.payload.type,
        "",
        r.payload.data,
        null,
      );
    }
    db.exec("COMMIT");
  }
  const perSecond = total / ((performance.now() - started) / 1000);
  db.close();
  return perSecond;
}

async function inProcess(dir: string, synchronous: Synchronous, total: number): Promise<number> {
  const soma = await startSoma({
    dataDir: dir,
    port: 0,
    httpPort: false,
    synchronous,
    heartbeatIntervalMs: 0,
  });
  try {
    const started = performance.now();
    for (let batch = 0; batch < total / PER_TX; batch++) await soma.eventStore.append(records(batch));
    return total / ((performance.now() - started) / 1000);
  } finally {
    await soma.close();
  }
}

function metadata(): Metadata {
  const m = new Metadata();
  m.set("AxonIQ-Context", "default");
  return m;
}

async function overGrpc(
  dir: string,
  total: number,
  concurrency: number,
): Promise<{ append: number; read: number }> {
  const soma = await startSoma({ dataDir: dir, port: 0, httpPort: false, heartbeatIntervalMs: 0 });
  const definition = grpcService(EventStore);
  const client = new Client(`127.0.0.1:${soma.port}`, credentials.createInsecure());
  try {
    const wire = (batch: number) => records(batch).map((r) => toAxonEvent(r));
    const append = (batch: number) =>
      new Promise<void>((resolve, reject) => {
        const call = client.makeClientStreamRequest(
          definition.appendEvent.path,
          definition.appendEvent.requestSerialize,
          definition.appendEvent.responseDeserialize,
          metadata(),
          {},
          (error) => (error ? reject(error) : resolve()),
        );
        for (const event of wire(batch)) call.write(event);
        call.end();
      });
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total / PER_TX) await append(next++);
    }));
    const appendRate = total / ((performance.now() - started) / 1000);
    const readStarted = performance.now();
    await new Promise<void>((resolve, reject) => {
      // the client keeps the raw bytes, as the raw bidi client does: the figure is soma's serving rate
      const call = client.makeBidiStreamRequest(
        definition.listEvents.path,
        definition.listEvents.requestSerialize,
        (bytes: Buffer) => bytes,
        metadata(),
        {},
      );
      let received = 0;
      call.on("data", () => {
        if (++received === total) {
          call.cancel();
          resolve();
        } else if (received % 5_000 === 0) {
          call.write(create(GetEventsRequestSchema, { numberOfPermits: 5_000n }));
        }
      });
      call.on("error", (error: { code?: number }) => (error.code === 1 ? undefined : reject(error)));
      call.write(create(GetEventsRequestSchema, { trackingToken: 0n, numberOfPermits: 10_000n }));
    });
    return { append: appendRate, read: total / ((performance.now() - readStarted) / 1000) };
  } finally {
    client.close();
    await soma.close();
  }
}

/**
 * A raw grpc-js bidi stream: the server writes `total` pre-encoded messages of `size` bytes with backpressure,
 * one `call.write` each, or (`framed`) in runs of up to 64 KiB per write as soma's ListEvents does with
 * framedWriter: the transport's own limit for that technique.
 */
async function rawBidi(total: number, size: number, framed: boolean): Promise<number> {
  const identity = (b: Buffer) => b;
  const definition: ServiceDefinition = {
    stream: {
      path: "/bench.Raw/Stream",
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const server = new Server();
  const message = Buffer.alloc(size, 1);
  server.addService(definition, {
    stream: (call: ServerDuplexStream<Buffer, Buffer>) => {
      call.once("data", async () => {
        if (!framed) {
          for (let i = 0; i < total; i++) {
            if (!call.write(message)) await new Promise((resolve) => call.once("drain", resolve));
          }
          return call.end();
        }
        const writer = framedWriter(call, (error) => call.destroy(error));
        if (!writer) throw new Error("framedWriter found no HTTP/2 stream under the grpc-js call");
        const run = Array.from({ length: Math.max(1, Math.floor(64 * 1024 / size)) }, () => message);
        for (let sent = 0; sent < total; sent += run.length) {
          const messages = run.slice(0, Math.min(run.length, total - sent));
          if (!writer.write(messages)) await writer.drained(AbortSignal.timeout(60_000));
        }
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p)),
    )
  );
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const call = client.makeBidiStreamRequest("/bench.Raw/Stream", identity, identity, new Metadata(), {});
      let received = 0;
      call.on("data", () => {
        if (++received === total) resolve();
      });
      call.on("error", reject);
      call.write(Buffer.from([1]));
    });
    return total / ((performance.now() - started) / 1000);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

/** Child process mode: store 1M events through soma, report RSS at 100k, 500k and 1M as JSON lines. */
async function memoryChild(dir: string): Promise<void> {
  const soma = await startSoma({
    dataDir: dir,
    port: 0,
    httpPort: false,
    heartbeatIntervalMs: 0,
    synchronous: "NORMAL",
  });
  const report = (events: number) => {
    (globalThis as { gc?: () => void }).gc?.();
    console.log(JSON.stringify({ events, rss: Deno.memoryUsage().rss }));
  };
  for (let batch = 0; batch < 10_000; batch++) {
    await soma.eventStore.append(records(batch));
    if (batch === 999 || batch === 4_999 || batch === 9_999) report((batch + 1) * PER_TX);
  }
  // read the whole log once too: streaming must not hold it either
  let read = 0;
  for await (const _ of soma.eventStore.stream({ from: 0 })) read++;
  report(read);
  await soma.close();
}

async function memory(
  dir: string,
): Promise<{ at100k: number; at500k: number; at1m: number; afterRead: number; seconds: number }> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", fileURLToPath(import.meta.url), "--memory-child", dir],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("The memory child failed");
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n").map((l) =>
    JSON.parse(l) as { events: number; rss: number }
  );
  return {
    at100k: lines[0].rss,
    at500k: lines[1].rss,
    at1m: lines[2].rss,
    afterRead: lines[3].rss,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Runs the soma benchmarks. */
export async function benchSoma(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "soma-bench-" });
  const rows: BenchRow[] = [];
  try {
    const total = 50_000;
    for (const synchronous of ["FULL", "NORMAL"] as const) {
      const raw = rawSqlite(join(dir, `raw-${synchronous}.sqlite`), synchronous, total);
      const soma = await inProcess(join(dir, `inproc-${synchronous}`), synchronous, total);
      rows.push(ratioRow(`soma append in-process, 100/tx, ${synchronous}`, "events/s", soma, {
        name: `raw node:sqlite 100/tx ${synchronous}`,
        value: raw,
      }, 0.5));
    }
    const rawFull = rows[0].limit!;
    const grpc = await overGrpc(join(dir, "grpc"), total, 4);
    rows.push(
      ratioRow(
        "soma AppendEvent over gRPC, 100/tx, FULL, 4 in flight",
        "events/s",
        grpc.append,
        rawFull,
        0,
        "no target; for reference",
      ),
    );
    const size = toBinary(EventWithTokenSchema, {
      $typeName: "io.axoniq.axonserver.grpc.event.EventWithToken",
      token: 12_345n,
      event: toAxonEvent(records(0)[0]),
    }).length;
    const raw = await rawBidi(total, size, false);
    const rawFramed = await rawBidi(total, size, true);
    rows.push(
      ratioRow("soma ListEvents over gRPC", "events/s", grpc.read, {
        name: `raw grpc-js bidi, ${size} B messages, one write each`,
        value: raw,
      }, 0.7),
      ratioRow(
        "soma ListEvents over gRPC (the same run)",
        "events/s",
        grpc.read,
        { name: `raw grpc-js bidi, ${size} B messages in 64 KiB writes`, value: rawFramed },
        0,
        "no target; the transport's limit for soma's framed writes",
      ),
    );
    const mem = await memory(join(dir, "memory"));
    rows.push({
      scenario: "soma RSS after 100k events",
      metric: "MB",
      value: mem.at100k / 1e6,
      target: "≤ 200 MB",
      met: mem.at100k <= 200e6,
    });
    rows.push({ scenario: "soma RSS after 500k events", metric: "MB", value: mem.at500k / 1e6 });
    rows.push({
      scenario: "soma RSS after storing 1M events",
      metric: "MB",
      value: mem.at1m / 1e6,
      limit: { name: "RSS after 500k", value: mem.at500k / 1e6 },
      target: "≤ 200 MB, flat from 500k (≤ +10%)",
      met: mem.at1m <= 200e6 && mem.at1m <= mem.at500k * 1.1,
      note: `child took ${mem.seconds.toFixed(1)} s`,
    });
    rows.push({
      scenario: "soma RSS after then reading all 1M events",
      metric: "MB",
      value: mem.afterRead / 1e6,
      note: "no target; V8 heap stays ~12 MB, growth is native",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  if (Deno.args[0] === "--memory-child") await memoryChild(Deno.args[1]);
  else console.log(formatTable(await benchSoma()));
}
