/**
 * Benchmark: Greet through the API (command → aggregate → SQLite event store at synchronous=FULL → result),
 * over Connect and grpc-web with 64 calls in flight, next to the same server running a trivial handler for the
 * same RPC (no work: the front door + transport limit), measured in the same run. The external rows
 * (`benchApiExternal`) load the server from wrk and h2load processes, next to a `Deno.serve` echo: three rounds
 * in which each compared run follows the other, the round with the median ratio kept, and each row also gives the
 * server process's CPU time per call next to its limit's.
 *
 * `deno run -A test/bench/api.ts` prints the rows.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { GreeterService, GreetRequestSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { spawnReady } from "../child.ts";
import { silentLogger } from "../../src/server/mod.ts";
import { startTestApp } from "../api/fixture.ts";
import { startTrivialServer } from "../api/trivial_server.ts";
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";
import {
  available,
  envelope,
  h2load,
  interleaved,
  type LoadRequest,
  type LoadResult,
  medianRound,
  onServer,
  type Round,
  wrk,
} from "./load_generators.ts";

const IN_FLIGHT = 64;

type Greeter = Client<typeof GreeterService>;

/** Runs Greet for about `seconds` (after a short warm-up that also sizes the run). */
async function rate(client: Greeter, seconds: number) {
  const warm = await measure(300, IN_FLIGHT, (i) => client.greet({ message: `warm ${i}` }));
  const count = Math.max(500, Math.round(warm.perSecond * seconds));
  return await measure(count, IN_FLIGHT, (i) => client.greet({ message: `greeting ${i}` }));
}

/** The API benchmark rows. */
export async function benchApi(seconds = 2): Promise<BenchRow[]> {
  const app = await startTestApp({ logger: silentLogger });
  const relaxed = await startTestApp({ logger: silentLogger, synchronous: "NORMAL" });
  const echo = await startTrivialServer(); // the same server whose Greet does nothing: the limit compared with
  const echoUrl = `http://127.0.0.1:${echo.port}`;
  try {
    const protocols: { name: string; transport: (baseUrl: string) => Transport }[] = [
      {
        name: "Connect (JSON, HTTP/1.1 keep-alive)",
        transport: (baseUrl) => createConnectTransport({ baseUrl }),
      },
      {
        name: "grpc-web (binary, HTTP/1.1 keep-alive)",
        transport: (baseUrl) => createGrpcWebTransport({ baseUrl }),
      },
    ];
    const rows: BenchRow[] = [];
    for (const protocol of protocols) {
      const limit = await rate(createClient(GreeterService, protocol.transport(echoUrl)), seconds);
      const runs: [string, string][] = [["synchronous=FULL", app.url], ["synchronous=NORMAL", relaxed.url]];
      for (const [durability, url] of runs) {
        const greet = await rate(createClient(GreeterService, protocol.transport(url)), seconds);
        rows.push(ratioRow(
          `api: Greet via ${protocol.name}, ${IN_FLIGHT} in flight, ${durability}`,
          "calls/s",
          greet.perSecond,
          { name: "trivial handler on the front door, same protocol", value: limit.perSecond },
          0.5,
          `p50 ${greet.p50.toFixed(1)} ms, p99 ${greet.p99.toFixed(1)} ms; echo p99 ${
            limit.p99.toFixed(1)
          } ms`,
        ));
      }
    }
    return rows;
  } finally {
    await echo.shutdown();
    await app.close();
    await relaxed.close();
  }
}

const GREET_PATH = "/example.v1.GreeterService/Greet";
const GREET_BINARY = toBinary(GreetRequestSchema, create(GreetRequestSchema, { message: "hello" }));

function connectJson(port: number): LoadRequest {
  return {
    url: `http://127.0.0.1:${port}${GREET_PATH}`,
    headers: { "content-type": "application/json" },
    body: new TextEncoder().encode(JSON.stringify({ message: "hello" })),
  };
}

function grpcWeb(port: number): LoadRequest {
  return {
    url: `http://127.0.0.1:${port}${GREET_PATH}`,
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: envelope(GREET_BINARY),
  };
}

function grpc(port: number, path = GREET_PATH, message = GREET_BINARY): LoadRequest {
  return {
    url: `http://127.0.0.1:${port}${path}`,
    headers: { "content-type": "application/grpc", te: "trailers" },
    body: envelope(message),
  };
}

/** "0 socket errors, 0 non-2xx, p99 …" */
function health(result: LoadResult): string {
  const latency = result.p99 !== undefined
    ? `p99 ${result.p99.toFixed(1)} ms`
    : result.mean !== undefined
    ? `mean ${result.mean.toFixed(1)} ms`
    : "";
  return `${result.socketErrors} socket errors, ${result.non2xx} non-2xx, ${latency}`;
}

/** A ratio row that is also not met when any call failed (and, with `maxP99`, when p99 is above it). */
function loadRow(
  scenario: string,
  result: LoadResult,
  limit: { name: string; value: number },
  minFraction: number,
  maxP99?: number,
): BenchRow {
  const row = ratioRow(scenario, "calls/s", result.perSecond, limit, minFraction, health(result));
  const clean = result.socketErrors === 0 && result.non2xx === 0;
  const fast = maxP99 === undefined || (result.p99 !== undefined && result.p99 < maxP99);
  return {
    ...row,
    target: `${row.target}${maxP99 === undefined ? "" : `, p99 < ${maxP99} ms`}, no errors`,
    met: row.met && clean && fast,
  };
}

/**
 * Greet dispatched on the command bus inside one process, 64 in flight: what the API could reach at best. Runs in
 * a helper process (fixtures/in_process_greet.ts) that exits before the next run.
 */
async function inProcessGreet(seconds: number): Promise<LoadResult> {
  const { child, line } = await spawnReady(new URL("./fixtures/in_process_greet.ts", import.meta.url), {
    args: [String(seconds), String(IN_FLIGHT)],
  });
  const status = await child.status;
  if (!status.success) throw new Error(`the in-process Greet run failed (exit code ${status.code})`);
  const run = JSON.parse(line) as { perSecond: number; p99: number; mean: number };
  return { perSecond: run.perSecond, p99: run.p99, mean: run.mean, non2xx: 0, socketErrors: 0 };
}

/**
 * Runs `body` with a server helper process of `kind` (see fixtures/api_server.ts) and stops it after; `body` gets
 * the front door's port and the gRPC port.
 */
async function withServer<T>(
  kind: string,
  body: (port: number, grpcPort: number, pid: number) => Promise<T>,
): Promise<T> {
  const { child, line } = await spawnReady(new URL("./fixtures/api_server.ts", import.meta.url), {
    args: [kind],
  });
  try {
    const [port, grpcPort] = line.split(" ").map(Number);
    return await body(port, grpcPort, child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

async function withEchoGrpc<T>(body: (port: number, pid: number) => Promise<T>): Promise<T> {
  const { child, line } = await spawnReady(new URL("./fixtures/echo_server.ts", import.meta.url));
  try {
    return await body(Number(line), child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

/**
 * Rounds of each comparison, its runs one right after the other within a round; a row keeps the round with its
 * median ratio (see `interleaved` and `medianRound`).
 */
const ROUNDS = 3;

/** A row of `candidate` against `limit` in the round with their median ratio (load_generators.ts). */
function pairRow<K extends string>(
  scenario: string,
  rounds: readonly Round<K>[],
  [candidate, limit, limitName]: readonly [K, K, string],
  minFraction: number,
  maxP99?: number,
): BenchRow {
  const median = medianRound(rounds, candidate, limit);
  const row = loadRow(
    scenario,
    median.candidate,
    { name: limitName, value: median.limit.perSecond },
    minFraction,
    maxP99,
  );
  const [cost, limitCost] = [median.candidate.serverCpuUs, median.limit.serverCpuUs];
  if (cost === undefined || limitCost === undefined) return row;
  const cpu = `server CPU per call ${cost.toFixed(0)} µs, the limit's ${limitCost.toFixed(0)} µs (${
    (100 * limitCost / cost).toFixed(0)
  }% of its speed)`;
  return { ...row, note: `${row.note}; ${cpu}` };
}

const ECHO_WRK = "Deno.serve JSON echo, wrk";
const ECHO_H2LOAD = "Deno.serve JSON echo, h2load h2c";

/** A server helper process: its ports and its pid (for its CPU time). */
interface Served {
  readonly port: number;
  readonly grpcPort: number;
  readonly pid: number;
}

/** The trivial Greet over HTTP/1.1 (wrk) and h2c (h2load), each round next to the echo. */
async function trivialRows(echo: Served, trivial: Served, seconds: number) {
  const { port, grpcPort } = trivial;
  const rows: BenchRow[] = [];
  if (await available("wrk")) {
    const rounds = await interleaved(ROUNDS, {
      echo: () => onServer(echo.pid, () => wrk(connectJson(echo.port), IN_FLIGHT, seconds)),
      json: () => onServer(trivial.pid, () => wrk(connectJson(port), IN_FLIGHT, seconds)),
      grpcWeb: () => onServer(trivial.pid, () => wrk(grpcWeb(port), IN_FLIGHT, seconds)),
      // The gRPC port (node:http + connect-node) serves Connect too: the path the front door replaced.
      grpcPort: () => onServer(trivial.pid, () => wrk(connectJson(grpcPort), IN_FLIGHT, seconds)),
    });
    const scenario = (what: string) => `api (wrk): trivial Greet, ${what}, 64 keep-alive connections`;
    rows.push(
      pairRow(scenario("Connect JSON"), rounds, ["json", "echo", ECHO_WRK], 0.5),
      pairRow(scenario("grpc-web"), rounds, ["grpcWeb", "echo", ECHO_WRK], 0.5),
      pairRow(scenario("Connect JSON on GRPC_PORT (node:http + connect-node; no target)"), rounds, [
        "grpcPort",
        "echo",
        ECHO_WRK,
      ], 0),
    );
  }
  if (await available("h2load")) {
    const rounds = await interleaved(ROUNDS, {
      echo: () => onServer(echo.pid, () => h2load(connectJson(echo.port), 16, 4, seconds)),
      json: () => onServer(trivial.pid, () => h2load(connectJson(port), 16, 4, seconds)),
    });
    rows.push(
      pairRow("api (h2load): trivial Greet, Connect JSON, h2c 16×4 streams", rounds, [
        "json",
        "echo",
        ECHO_H2LOAD,
      ], 0.5),
    );
  }
  return rows;
}

/** Greet at synchronous=FULL over HTTP/1.1 (wrk), each round next to the echo and the in-process Greet. */
async function fullRows(echo: Served, app: Served, seconds: number) {
  const rounds = await interleaved(ROUNDS, {
    echo: () => onServer(echo.pid, () => wrk(connectJson(echo.port), IN_FLIGHT, seconds)),
    inProcess: () => inProcessGreet(seconds),
    json: () => onServer(app.pid, () => wrk(connectJson(app.port), IN_FLIGHT, seconds)),
    grpcWeb: () => onServer(app.pid, () => wrk(grpcWeb(app.port), IN_FLIGHT, seconds)),
  });
  const inProcess = "in-process Greet, 64 in flight (FULL)";
  return (["json", "grpcWeb"] as const).flatMap((run) => {
    const scenario = `api (wrk): Greet at synchronous=FULL, ${run === "json" ? "Connect JSON" : "grpc-web"}`;
    const tails = tailNote(medianRound(rounds, run, "echo"), medianRound(rounds, run, "inProcess").limit);
    return [
      pairRow(`${scenario}, 64 connections`, rounds, [run, "echo", ECHO_WRK], 0.1, 20),
      pairRow(`${scenario}, vs in-process`, rounds, [run, "inProcess", inProcess], 0.5, 20),
    ].map((row) => ({ ...row, note: `${row.note}; ${tails}` }));
  });
}

/**
 * How far each p99 lies above its mean, which a closed loop of 64 connections fixes at 64 / rate (Little's law):
 * the echo's ratio is the spread the machine and the generator add to any server; the in-process p99 is the
 * command path's own, without HTTP.
 */
function tailNote(
  wrkRound: { readonly candidate: LoadResult; readonly limit: LoadResult },
  inProcess: LoadResult,
): string {
  const spread = (result: LoadResult) =>
    result.p99 !== undefined && result.mean ? `${(result.p99 / result.mean).toFixed(1)}× its mean` : "n/a";
  const { candidate, limit } = wrkRound;
  return `p99 ${spread(candidate)} (mean ${candidate.mean?.toFixed(1)} ms), the echo's p99 ${
    spread(limit)
  }, ` +
    `in-process p99 ${inProcess.p99?.toFixed(1)} ms (mean ${inProcess.mean?.toFixed(1)} ms)`;
}

/** gRPC unary Greet (h2load) on the gRPC port, each round next to a raw grpc-js echo in a process of its own. */
async function grpcRow(seconds: number): Promise<BenchRow> {
  const rounds = await withEchoGrpc((echoPort, echoPid) =>
    withServer("trivial", (_port, grpcPort, pid) =>
      interleaved(ROUNDS, {
        raw: () =>
          onServer(echoPid, () =>
            h2load(
              grpc(echoPort, "/io.axoniq.axonserver.grpc.command.CommandService/Dispatch", new Uint8Array()),
              16,
              4,
              seconds,
            )),
        greet: () => onServer(pid, () => h2load(grpc(grpcPort), 16, 4, seconds)),
      }))
  );
  return pairRow("api (h2load): gRPC unary trivial Greet, h2c 16×4 streams", rounds, [
    "greet",
    "raw",
    "raw grpc-js unary echo, h2load",
  ], 0.5);
}

/**
 * The API from an external load generator (wrk over HTTP/1.1, h2load over h2c; 64 connections or streams), each
 * next to a `Deno.serve` JSON echo measured in the same rounds; gRPC next to a raw grpc-js echo.
 */
export async function benchApiExternal(seconds = 5): Promise<BenchRow[]> {
  const [hasWrk, hasH2load] = [await available("wrk"), await available("h2load")];
  if (!hasWrk || !hasH2load) {
    console.error(
      "api: wrk and/or h2load are not installed (apt-get install wrk nghttp2-client): rows skipped",
    );
  }
  const rows: BenchRow[] = [];
  await withServer("echo", async (port, grpcPort, pid) => {
    const echo = { port, grpcPort, pid };
    await withServer("trivial", async (port, grpcPort, pid) => {
      rows.push(...await trivialRows(echo, { port, grpcPort, pid }, seconds));
    });
    if (!hasWrk) return;
    await withServer("app", async (port, grpcPort, pid) => {
      rows.push(...await fullRows(echo, { port, grpcPort, pid }, seconds));
    });
  });
  if (hasH2load) rows.push(await grpcRow(seconds));
  return rows;
}

if (import.meta.main) {
  console.log(formatTable([...await benchApiExternal(), ...await benchApi()]));
}
