/**
 * Benchmark: Greet through the API (command → aggregate → SQLite event store at synchronous=FULL → result),
 * over Connect and grpc-web with 64 calls in flight, next to the same server running a trivial handler for the
 * same RPC (no work: the connect-node + transport limit), measured in the same run.
 *
 * `deno run -A test/bench/api.ts` prints the rows.
 *
 * @module
 */
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { type RunningServer, silentLogger, startServer } from "../../src/server/mod.ts";
import { startTestApp } from "../api/fixture.ts";
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";

const IN_FLIGHT = 64;

/** A server of the same kind whose Greet does nothing: the limit the API is compared with. */
function startEchoServer(): Promise<RunningServer> {
  return startServer({
    port: 0,
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
          { name: "trivial connect-node handler, same protocol", value: limit.perSecond },
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

if (import.meta.main) {
  console.log(formatTable(await benchApi()));
}
