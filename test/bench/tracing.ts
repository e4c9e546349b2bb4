/**
 * Tracing's cost: in-process Greet (traced command bus → repository → SQLite, synchronous=NORMAL, 8 in flight)
 * in a process with tracing off (`OTEL_DENO` unset: the buses are not wrapped, one boolean test per message
 * remains) and in one with Deno's OpenTelemetry on, exporting every span over OTLP/HTTP to a receiver in this
 * process. Off sits next to a raw `node:sqlite` insert of one event per transaction (the physical limit), on
 * next to off; each process measures its own limit, two rounds each, the best kept.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { OtlpReceiver } from "../observability/otlp_receiver.ts";
import { type BenchRow, formatTable, ratioRow } from "./harness.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/traced_greet.ts", import.meta.url));

interface Run {
  readonly tracing: boolean;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly raw: number;
}

async function run(env: Record<string, string>): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`${FIXTURE} failed`);
  return JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!) as Run;
}

const best = (runs: readonly Run[]) => runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

/** Runs the tracing scenarios. */
export async function benchTracing(): Promise<BenchRow[]> {
  const receiver = new OtlpReceiver();
  try {
    const off: Run[] = [];
    const on: Run[] = [];
    for (let round = 0; round < 2; round++) {
      off.push(await run({ OTEL_DENO: "false" }));
      on.push(await run({ ...receiver.env("bench"), OTEL_BSP_SCHEDULE_DELAY: "1000" }));
    }
    if (off.some((r) => r.tracing) || on.some((r) => !r.tracing)) {
      throw new Error("tracing was not off/on as asked");
    }
    const [a, b] = [best(off), best(on)];
    const scenario = "Greet in-process, NORMAL, 8 in flight";
    return [
      ratioRow(`${scenario}, tracing off`, "commands/s", a.perSecond, {
        name: "raw node:sqlite, 1 event/tx",
        value: a.raw,
      }, 0.1),
      { scenario: `${scenario}, tracing off`, metric: "p50 ms", value: a.p50 },
      {
        // No target: what tracing costs is measured, not promised (4 spans per command, all exported).
        scenario: `${scenario}, tracing on (OTLP/HTTP export)`,
        metric: "commands/s",
        value: b.perSecond,
        limit: { name: "tracing off, same run", value: a.perSecond },
        note: `${receiver.spans.length} spans received`,
      },
      {
        scenario: `${scenario}, tracing on (OTLP/HTTP export)`,
        metric: "µs added per command",
        value: (1 / b.perSecond - 1 / a.perSecond) * 1e6,
      },
      { scenario: `${scenario}, tracing on (OTLP/HTTP export)`, metric: "p50 ms", value: b.p50 },
    ];
  } finally {
    await receiver.close();
  }
}

if (import.meta.main) console.log(formatTable(await benchTracing()));
