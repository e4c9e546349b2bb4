/**
 * Connector benchmark: command round trips connector → soma → a handler in another process, 64 in flight, next
 * to a raw grpc-js unary echo between two processes measured in the same run. The dispatching connector runs in
 * soma's process, which so carries both ends of every Dispatch call (the issue's set-up); a second row runs it in
 * a process of its own, as an application next to a soma server would. Three interleaved rounds, the best of each
 * kept. Each row also gives the CPU time per command summed over the processes involved (from /proc on Linux),
 * next to the echo's: that ratio holds up better under load from elsewhere than the rates' ratio does.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import process from "node:process";
import * as grpc from "@grpc/grpc-js";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { Rpc } from "../../src/dendrite/axon/rpc.ts";
import { MessageRegistry, newMessageId } from "../../src/dendrite/mod.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { CommandSchema, CommandService } from "../../src/gen/axon/command_pb.ts";
import { SerializedObjectSchema } from "../../src/gen/axon/common_pb.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";
import { type ReadyChild, spawnReady } from "../child.ts";
import { cpuOf } from "./load_generators.ts";

const COUNT = 4_000;
const IN_FLIGHT = 64;
const ROUNDS = 3;

/** A measured run, with the CPU time per operation of every process involved when it could be read. */
type Run = Awaited<ReturnType<typeof measure>> & { cpuPerOp?: number };

/** The run with the highest rate, with the lowest CPU per operation over all runs. */
function best(runs: readonly Run[]): Run {
  const fastest = runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const costs = runs.map((r) => r.cpuPerOp).filter((c) => c !== undefined);
  return { ...fastest, cpuPerOp: costs.length === runs.length ? Math.min(...costs) : undefined };
}

/** Runs `run` and adds the CPU time per operation of this process, the `peers` and what `run` reports itself. */
async function costed(
  peers: readonly number[],
  run: () => Promise<Run & { cpuMicros?: number }>,
): Promise<Run> {
  const self = process.cpuUsage();
  const before = peers.map(cpuOf);
  const result = await run();
  const own = process.cpuUsage(self);
  const after = peers.map(cpuOf);
  let total = own.user + own.system + (result.cpuMicros ?? 0);
  for (let i = 0; i < peers.length; i++) {
    if (before[i] === undefined || after[i] === undefined) return result;
    total += after[i]! - before[i]!;
  }
  return { ...result, cpuPerOp: total / (COUNT + 500) };
}

/** Spawns a helper script and resolves with the process and its first stdout line. */
function spawn(script: string, args: string[]): Promise<ReadyChild> {
  return spawnReady(new URL(script, import.meta.url), { args });
}

/** Runs the dispatcher helper against `address` and returns what it measured. */
async function dispatchFromProcess(address: string): Promise<Run & { cpuMicros?: number }> {
  const script = new URL("./fixtures/command_dispatcher.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, address, String(COUNT), String(IN_FLIGHT)],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) throw new Error(`The dispatcher process failed (${output.code}): ${text}`);
  return JSON.parse(text.slice(text.lastIndexOf("\n") + 1));
}

/** The note of a hop row: latencies and CPU per command next to the echo's. */
function latencies(hop: Run, processes: number, echo: Run): string {
  const text = `p50 ${hop.p50.toFixed(1)} ms, p99 ${hop.p99.toFixed(1)} ms; echo p99 ${
    echo.p99.toFixed(1)
  } ms`;
  if (hop.cpuPerOp === undefined || echo.cpuPerOp === undefined) return text;
  return `${text}; CPU per command ${hop.cpuPerOp.toFixed(0)} µs in ${processes} processes, echo ${
    echo.cpuPerOp.toFixed(0)
  } µs in 2 (${Math.round((100 * echo.cpuPerOp) / hop.cpuPerOp)}%)`;
}

/**
 * Stops a helper. (On Deno 2.9.4–2.9.6 a process whose HTTP/2 session receives a GOAWAY may abort in nghttp2 —
 * denoland/deno#36788 — so a helper may already be gone when the benchmark ends; that is not a failure here.)
 */
async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already exited
  }
  await child.stdout.cancel().catch(() => {});
  await child.status;
}

/** Runs the connector scenario. */
export async function benchConnector(): Promise<BenchRow[]> {
  const registry = new MessageRegistry().addFiles(domain.file_example_v1_domain);
  const dataDir = await Deno.makeTempDir({ prefix: "bench-connector-" });
  const soma = await startSoma({ dataDir, port: 0, httpPort: false, registry });
  const address = `127.0.0.1:${soma.port}`;
  const handler = await spawn("./fixtures/command_handler.ts", [address]);
  const echo = await spawn("./fixtures/echo_server.ts", []);
  const dispatcher = await connectAxon(
    { address, componentName: "bench-dispatcher", onStateChange: () => {} },
    registry,
    AbortSignal.timeout(10_000),
  );
  const client = new grpc.Client(`127.0.0.1:${echo.line.trim()}`, grpc.credentials.createInsecure());
  try {
    const command = (i: number) =>
      create(domain.GreetCommandSchema, { greeterId: `g${i % 100}`, message: `hi ${i}` });
    const rpc = new Rpc(client, () => new grpc.Metadata());
    const payload = create(SerializedObjectSchema, {
      type: domain.GreetCommandSchema.typeName,
      data: registry.encode(command(0)).data,
    });
    const raw = () =>
      rpc.unary(
        CommandService.method.dispatch,
        create(CommandSchema, { messageIdentifier: newMessageId(), name: "echo", payload }),
      );
    const viaSoma = (i: number) => dispatcher.commandBus.dispatch(command(i), { routingKey: `g${i % 100}` });
    const warm = (peer: number, op: (i: number) => Promise<unknown>) =>
      costed([peer], async () => {
        await measure(500, IN_FLIGHT, op);
        return measure(COUNT, IN_FLIGHT, op);
      });
    // Rounds interleave the three so that load from elsewhere hits each alike; the best round of each is kept.
    const runs: { split: Run[]; raw: Run[]; embedded: Run[] } = { split: [], raw: [], embedded: [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.split.push(await costed([handler.child.pid], () => dispatchFromProcess(address)));
      runs.raw.push(await warm(echo.child.pid, raw));
      runs.embedded.push(await warm(handler.child.pid, viaSoma));
    }
    const [split, raw64, embedded] = [best(runs.split), best(runs.raw), best(runs.embedded)];
    const limit = { name: "raw grpc-js unary echo between two processes", value: raw64.perSecond };
    return [
      ratioRow(
        `command round trip connector → soma → handler process, ${IN_FLIGHT} in flight (connector in soma's process)`,
        "commands/s",
        embedded.perSecond,
        limit,
        0.5,
        latencies(embedded, 2, raw64),
      ),
      {
        scenario: `the same with the connector in a process of its own (three processes on the cores)`,
        metric: "commands/s",
        value: split.perSecond,
        limit,
        note: latencies(split, 3, raw64),
      },
    ];
  } finally {
    client.close();
    await dispatcher.close();
    await stopChild(handler.child);
    await stopChild(echo.child);
    await soma.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) console.log(formatTable(await benchConnector()));
