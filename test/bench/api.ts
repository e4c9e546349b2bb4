/**
 * Benchmark: Greet through the API (command → aggregate → SQLite event store at synchronous=FULL → result),
 * over Connect and grpc-web with 64 calls in flight, next to the same server running a trivial handler for the
 * same RPC (no work: the front door + transport limit), measured in the same run. The external rows
 * (`benchApiExternal`) load the server from wrk and h2load processes, next to a `Deno.serve` echo.
 *
 * `deno run -A test/bench/api.ts` prints the rows.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { GreeterService, GreetRequestSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { spawnReady } from "../child.ts";
import { type RunningServer, silentLogger, startServer } from "../../src/server/mod.ts";
import { startTestApp } from "../api/fixture.ts";
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";
import {
  available,
  bestOf,
  envelope,
  h2load,
  type LoadRequest,
  type LoadResult,
  wrk,
} from "./load_generators.ts";

const IN_FLIGHT = 64;

/** A server of the same kind whose Greet does nothing: the limit the API is compared with. */
function startEchoServer(): Promise<RunningServer> {
  return startServer({
    port: 0,
    grpcPort: 0,
    hostname: "127.0.0.1",
    logger: silentLogger,
    api: (router) =>
      router.service(GreeterService, { greet: (request) => ({ greetingId: request.message }) }),
  });
}

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
  const echo = await startEchoServer();
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

/** Greet dispatched on the command bus inside the process, 64 in flight: what the API could reach at best. */
async function inProcessGreet(seconds: number): Promise<number> {
  const app = await startTestApp({ logger: silentLogger, synchronous: "FULL" });
  try {
    const greet = (i: number) =>
      app.app.ports.commandBus.dispatch(
        create(domain.GreetCommandSchema, { greeterId: "main", message: `m${i}` }),
      );
    const warm = await measure(300, IN_FLIGHT, greet);
    return (await measure(Math.max(500, Math.round(warm.perSecond * seconds)), IN_FLIGHT, greet)).perSecond;
  } finally {
    await app.close();
  }
}

/**
 * Runs `body` with a server helper process of `kind` (see fixtures/api_server.ts) and stops it after; `body` gets
 * the front door's port and the gRPC port.
 */
async function withServer<T>(kind: string, body: (port: number, grpcPort: number) => Promise<T>): Promise<T> {
  const { child, line } = await spawnReady(new URL("./fixtures/api_server.ts", import.meta.url), {
    args: [kind],
  });
  try {
    const [port, grpcPort] = line.split(" ").map(Number);
    return await body(port, grpcPort);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

async function withEchoGrpc<T>(body: (port: number) => Promise<T>): Promise<T> {
  const { child, line } = await spawnReady(new URL("./fixtures/echo_server.ts", import.meta.url));
  try {
    return await body(Number(line));
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

/**
 * Runs of the echo, the trivial rows, the FULL rows and the in-process Greet, the best kept (the same for both
 * sides of each ratio): on a shared machine a run can lose half its rate to a neighbour.
 */
const ROUNDS = 2;

/**
 * The API from an external load generator (wrk over HTTP/1.1, h2load over h2c; 64 connections or streams), each
 * next to a `Deno.serve` JSON echo measured in the same run; gRPC next to a raw grpc-js echo.
 */
export async function benchApiExternal(seconds = 5): Promise<BenchRow[]> {
  const [hasWrk, hasH2load] = [await available("wrk"), await available("h2load")];
  if (!hasWrk || !hasH2load) {
    console.error(
      "api: wrk and/or h2load are not installed (apt-get install wrk nghttp2-client): rows skipped",
    );
  }
  const rows: BenchRow[] = [];
  const echo = await withServer("echo", async (port) => ({
    h1: hasWrk ? await bestOf(ROUNDS, () => wrk(connectJson(port), IN_FLIGHT, seconds)) : undefined,
    h2: hasH2load ? await h2load(connectJson(port), 16, 4, seconds) : undefined,
  }));
  const echoH1 = echo.h1 && { name: "Deno.serve JSON echo, wrk", value: echo.h1.perSecond };
  const echoH2 = echo.h2 && { name: "Deno.serve JSON echo, h2load h2c", value: echo.h2.perSecond };
  await withServer("trivial", async (port, grpcPort) => {
    if (echoH1) {
      rows.push(
        loadRow(
          "api (wrk): trivial Greet, Connect JSON, 64 keep-alive connections",
          await bestOf(ROUNDS, () => wrk(connectJson(port), IN_FLIGHT, seconds)),
          echoH1,
          0.5,
        ),
      );
      rows.push(
        loadRow(
          "api (wrk): trivial Greet, grpc-web, 64 keep-alive connections",
          await bestOf(ROUNDS, () => wrk(grpcWeb(port), IN_FLIGHT, seconds)),
          echoH1,
          0.5,
        ),
      );
      // The gRPC port (node:http + connect-node) serves Connect too: the path the front door replaced.
      rows.push(
        loadRow(
          "api (wrk): trivial Greet, Connect JSON, on GRPC_PORT (node:http + connect-node; no target)",
          await wrk(connectJson(grpcPort), IN_FLIGHT, seconds),
          echoH1,
          0,
        ),
      );
    }
    if (echoH2) {
      rows.push(
        loadRow(
          "api (h2load): trivial Greet, Connect JSON, h2c 16×4 streams",
          await h2load(connectJson(port), 16, 4, seconds),
          echoH2,
          0.5,
        ),
      );
    }
  });
  let inProcessRate = 0;
  for (let round = 0; round < ROUNDS; round++) {
    inProcessRate = Math.max(inProcessRate, await inProcessGreet(seconds));
  }
  const inProcess = { name: "in-process Greet, 64 in flight (FULL)", value: inProcessRate };
  await withServer("app", async (port) => {
    if (!echoH1) return;
    for (
      const [name, request] of [["Connect JSON", connectJson(port)], ["grpc-web", grpcWeb(port)]] as const
    ) {
      const result = await bestOf(ROUNDS, () => wrk(request, IN_FLIGHT, seconds));
      rows.push(
        loadRow(`api (wrk): Greet at synchronous=FULL, ${name}, 64 connections`, result, echoH1, 0.1, 20),
      );
      rows.push(
        loadRow(`api (wrk): Greet at synchronous=FULL, ${name}, vs in-process`, result, inProcess, 0.5, 20),
      );
    }
  });
  if (hasH2load) {
    const raw = await withEchoGrpc((port) =>
      h2load(
        grpc(port, "/io.axoniq.axonserver.grpc.command.CommandService/Dispatch", new Uint8Array()),
        16,
        4,
        seconds,
      )
    );
    const grpcGreet = await withServer(
      "trivial",
      (_port, grpcPort) => h2load(grpc(grpcPort), 16, 4, seconds),
    );
    rows.push(loadRow(
      "api (h2load): gRPC unary trivial Greet, h2c 16×4 streams",
      grpcGreet,
      { name: "raw grpc-js unary echo, h2load", value: raw.perSecond },
      0.5,
    ));
  }
  return rows;
}

if (import.meta.main) {
  console.log(formatTable([...await benchApiExternal(), ...await benchApi()]));
}
