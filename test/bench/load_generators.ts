/**
 * External load generators for the benchmarks: `wrk` (HTTP/1.1 keep-alive) and `h2load` (HTTP/2, cleartext prior
 * knowledge), run as separate processes so the server's figures do not include a client in the same process.
 * `.ci/run` installs them (`apt-get install wrk nghttp2-client`); without them the rows are skipped and the
 * bench says so.
 *
 * @module
 */

/** What one run measured. */
export interface LoadResult {
  readonly perSecond: number;
  /** Answers that were not 2xx. */
  readonly non2xx: number;
  /** Connect, read, write errors and timeouts (wrk), failed and errored requests (h2load). */
  readonly socketErrors: number;
  /** 99th percentile latency in ms (wrk, and the in-process run). */
  readonly p99?: number;
  /** Mean latency in ms. */
  readonly mean?: number;
  /** Requests answered. */
  readonly requests?: number;
  /**
   * The server process's CPU time (user + system) per request in µs, when measured ({@link onServer}): it holds
   * up better than rates when something else takes the machine's cores for a while.
   */
  readonly serverCpuUs?: number;
}

/** CPU time (user + system, µs) process `pid` used so far, from /proc (Linux; clock ticks of 10 ms). */
export function cpuOf(pid: number): number | undefined {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** Runs a load generator against the server process `pid` and adds that server's CPU time per request. */
export async function onServer(pid: number, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const before = cpuOf(pid);
  const result = await run();
  const after = cpuOf(pid);
  if (before === undefined || after === undefined || !result.requests) return result;
  return { ...result, serverCpuUs: (after - before) / result.requests };
}

/** One round of interleaved runs: each named run's result. */
export type Round<K extends string> = Readonly<Record<K, LoadResult>>;

/**
 * `rounds` rounds of every run in `runs`, one right after the other within a round: a ratio then compares two
 * runs that met the same machine (on 2 shared cores a neighbour can take half of one run's rate for seconds).
 */
export async function interleaved<K extends string>(
  rounds: number,
  runs: Readonly<Record<K, () => Promise<LoadResult>>>,
): Promise<Round<K>[]> {
  const results: Round<K>[] = [];
  for (let i = 0; i < rounds; i++) {
    const round = {} as Record<K, LoadResult>;
    for (const name of Object.keys(runs) as K[]) round[name] = await runs[name]();
    results.push(round);
  }
  return results;
}

/**
 * The round whose `candidate` / `limit` ratio is the median of all rounds, both results of that round, with the
 * errors of every round's candidate counted.
 */
export function medianRound<K extends string>(
  rounds: readonly Round<K>[],
  candidate: K,
  limit: K,
): { readonly candidate: LoadResult; readonly limit: LoadResult } {
  const ratio = (round: Round<K>) => round[candidate].perSecond / Math.max(1e-9, round[limit].perSecond);
  const sorted = [...rounds].sort((a, b) => ratio(a) - ratio(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return {
    candidate: {
      ...median[candidate],
      non2xx: rounds.reduce((sum, r) => sum + r[candidate].non2xx, 0),
      socketErrors: rounds.reduce((sum, r) => sum + r[candidate].socketErrors, 0),
    },
    limit: median[limit],
  };
}

/** A request the generators send over and over. */
export interface LoadRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Whether `name` runs (`name --version` or `-h` exits). */
export async function available(name: "wrk" | "h2load"): Promise<boolean> {
  try {
    await new Deno.Command(name, {
      args: name === "wrk" ? ["-v"] : ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return true;
  } catch {
    return false;
  }
}

async function run(name: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(name, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) throw new Error(`${name} failed: ${new TextDecoder().decode(output.stderr)}${text}`);
  return text;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/** A Lua string literal of arbitrary bytes (decimal escapes). */
function luaString(bytes: Uint8Array): string {
  return `"${Array.from(bytes, (b) => `\\${b}`).join("")}"`;
}

/** `wrk` with `connections` keep-alive connections for `seconds`. */
export async function wrk(request: LoadRequest, connections: number, seconds: number): Promise<LoadResult> {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  try {
    const headers = Object.entries(request.headers)
      .map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
    await Deno.writeTextFile(
      script,
      [`wrk.method = "POST"`, `wrk.body = ${luaString(request.body)}`, ...headers].join("\n"),
    );
    const text = await run("wrk", [
      "-t2",
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      "-s",
      script,
      request.url,
    ]);
    const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
    const p99 = /\n\s+99%\s+([\d.]+)(us|ms|s)\b/.exec(text);
    const mean = /\n\s+Latency\s+([\d.]+)(us|ms|s)\b/.exec(text);
    return {
      perSecond,
      requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? 0),
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
      socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
      p99: p99 ? toMs(p99[1], p99[2]) : undefined,
      mean: mean ? toMs(mean[1], mean[2]) : undefined,
    };
  } finally {
    await Deno.remove(script);
  }
}

/** `h2load` over h2c with `connections` × `streams` requests in flight for `seconds`. */
export async function h2load(
  request: LoadRequest,
  connections: number,
  streams: number,
  seconds: number,
): Promise<LoadResult> {
  const data = await Deno.makeTempFile();
  try {
    await Deno.writeFile(data, request.body);
    const headers = Object.entries(request.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
    const text = await run("h2load", [
      `-c${connections}`,
      `-m${streams}`,
      `-D${seconds}`,
      "-d",
      data,
      ...headers,
      request.url,
    ]);
    const requests =
      /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/
        .exec(text);
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
    const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(text);
    return {
      perSecond: Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(text)?.[1] ?? NaN),
      non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0,
      socketErrors: requests ? Number(requests[6]) : 0,
      mean: mean ? toMs(mean[1], mean[2]) : undefined,
      requests: requests ? Number(requests[3]) : 0,
    };
  } finally {
    await Deno.remove(data);
  }
}

/** A gRPC / grpc-web length-prefixed message. */
export function envelope(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(5 + message.length);
  new DataView(framed.buffer).setUint32(1, message.length);
  framed.set(message, 5);
  return framed;
}
