/**
 * `deno task run-stack [--local]`: start the full stack.
 *
 * - With a Docker engine (`docker info` succeeds): builds and starts docker/compose.yaml (Axon Server,
 *   Elasticsearch, Envoy, the program's roles), waits until it is healthy and prints the URLs.
 * - Without one: says so and exits non-zero, unless `--local` is given. `--local` starts soma and the roles as
 *   local processes (`deno run -A src/main.ts --role=...`), prints the same URLs, waits for them to be healthy,
 *   and stops them all on Ctrl-C / SIGTERM (or when one of them dies).
 *
 * Run it from the repository root. Environment: PORT (8080), GRPC_PORT (8081), AXON_PORT (8124), AXON_HTTP_PORT (8024) and
 * ELASTICSEARCH_URL, DATA_DIR are passed on to the processes. soma's access token (AXON_TOKEN, else the one soma
 * generates in DATA_DIR/secure/soma-token) is passed to the roles as AXON_TOKEN. RUN_STACK_PROGRAM replaces
 * `deno run -A src/main.ts` (a path, or a JSON array of command + arguments, e.g. the Nix-built binary);
 * RUN_STACK_DOCKER names the docker executable (default `docker`).
 *
 * @module
 */
import { readSomaToken, somaTokenPath } from "../src/soma/token.ts";

/** Options from the command line. */
export interface StackArgs {
  local: boolean;
  down: boolean;
  help: boolean;
}

/** Parses the command line; unknown arguments are an error. */
export function parseStackArgs(args: string[]): StackArgs {
  const parsed: StackArgs = { local: false, down: false, help: false };
  for (const arg of args) {
    if (arg === "--local") parsed.local = true;
    else if (arg === "--down") parsed.down = true;
    else if (arg === "--help" || arg === "-h") parsed.help = true;
    else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return parsed;
}

export const USAGE = `usage: deno task run-stack [--local | --down | --help]
  (no flag)  build and start docker/compose.yaml with a Docker engine, print the URLs
  --local    no Docker: run soma and the roles (command, projection x2, api) as local processes
  --down     stop the compose stack`;

/** The ports the stack listens on (the same in both modes). */
export interface StackPorts {
  web: number;
  /** The api role's gRPC port (local stack; in compose Envoy serves gRPC on the web port). */
  grpc: number;
  axonGrpc: number;
  axonHttp: number;
}

function envPort(env: (name: string) => string | undefined, name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${name}=${raw} is not a port`);
  return port;
}

/** Ports from PORT, GRPC_PORT, AXON_PORT and AXON_HTTP_PORT, with the stack's defaults. */
export function stackPorts(env: (name: string) => string | undefined = (n) => Deno.env.get(n)): StackPorts {
  return {
    web: envPort(env, "PORT", 8080),
    grpc: envPort(env, "GRPC_PORT", 8081),
    axonGrpc: envPort(env, "AXON_PORT", 8124),
    axonHttp: envPort(env, "AXON_HTTP_PORT", 8024),
  };
}

/** One line per endpoint, printed once the stack is up. */
export function stackUrls(ports: StackPorts, mode: "compose" | "local", elasticsearchUrl?: string): string[] {
  const lines = [
    mode === "compose"
      ? `UI and API (gRPC, grpc-web, Connect)  http://localhost:${ports.web}/`
      : `UI and API (grpc-web, Connect)        http://localhost:${ports.web}/`,
    ...(mode === "local" ? [`API gRPC (with reflection)            localhost:${ports.grpc}`] : []),
    `Axon gRPC (AXON_SERVER)               localhost:${ports.axonGrpc}`,
    mode === "compose"
      ? `Axon Server dashboard                 http://localhost:${ports.axonHttp}/`
      : `soma dashboard                        http://localhost:${ports.axonHttp}/`,
  ];
  const es = mode === "compose" ? "http://localhost:9200/" : elasticsearchUrl;
  if (es) lines.push(`Elasticsearch                         ${es}`);
  return lines;
}

/** Runs a command quietly; false when it fails or cannot be started. */
async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** True when a Docker engine answers (`docker info`). */
export function dockerEngineAvailable(docker = "docker"): Promise<boolean> {
  return succeeds(docker, ["info"]);
}

/** `docker compose` (plugin) when present, else `docker-compose` (v1), else undefined. */
export async function composeCommand(docker = "docker"): Promise<string[] | undefined> {
  if (await succeeds(docker, ["compose", "version"])) return [docker, "compose"];
  if (await succeeds("docker-compose", ["version"])) return ["docker-compose"];
  return undefined;
}

/** Polls a URL until it answers 2xx, or the deadline passes. */
export async function waitHealthy(url: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** The command that runs the program: RUN_STACK_PROGRAM, or `deno run -A src/main.ts`. */
export function programCommand(override = Deno.env.get("RUN_STACK_PROGRAM")): string[] {
  if (override === undefined || override === "") return [Deno.execPath(), "run", "-A", "src/main.ts"];
  if (override.trimStart().startsWith("[")) {
    const parsed: unknown = JSON.parse(override);
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === "string")) {
      throw new Error("RUN_STACK_PROGRAM must be a path or a JSON array of strings");
    }
    return parsed;
  }
  return [override];
}

/** A process of the local stack. */
export interface LocalProcess {
  name: string;
  role: string;
  env: Record<string, string>;
}

/** The local stack: soma first, then the roles pointing at it (two projection processes share segments). */
export function localProcesses(ports: StackPorts): LocalProcess[] {
  const axon = { AXON_SERVER: `localhost:${ports.axonGrpc}` };
  return [
    {
      name: "soma",
      role: "soma",
      env: { AXON_PORT: String(ports.axonGrpc), AXON_HTTP_PORT: String(ports.axonHttp) },
    },
    { name: "command", role: "command", env: axon },
    { name: "projection-1", role: "projection", env: axon },
    { name: "projection-2", role: "projection", env: axon },
    { name: "api", role: "api", env: { ...axon, PORT: String(ports.web), GRPC_PORT: String(ports.grpc) } },
  ];
}

async function prefixLines(stream: ReadableStream<Uint8Array>, prefix: string, write: (s: string) => void) {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const bytes of stream) {
    pending += decoder.decode(bytes, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) write(`${prefix} ${line}\n`);
  }
  if (pending) write(`${prefix} ${pending}\n`);
}

/** Supervises the local processes: start, health, stop on signal or when one dies. */
export class LocalStack {
  readonly #children = new Map<string, Deno.ChildProcess>();
  readonly #pipes: Promise<void>[] = [];
  #stopping = false;
  constructor(
    private readonly program: string[],
    private readonly log: (line: string) => void = (l) => console.log(l),
  ) {}

  /** Starts one process. */
  start(p: LocalProcess): Deno.ChildProcess {
    const [cmd, ...args] = this.program;
    const child = new Deno.Command(cmd, {
      args: [...args, `--role=${p.role}`],
      env: p.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s));
    const err = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s));
    const tag = `[${p.name}]`.padEnd(15);
    this.#pipes.push(prefixLines(child.stdout, tag, out), prefixLines(child.stderr, tag, err));
    this.#children.set(p.name, child);
    return child;
  }

  /** Resolves with the name and code of the first process that exits. */
  firstExit(): Promise<{ name: string; code: number }> {
    return Promise.race(
      [...this.#children].map(([name, child]) => child.status.then((s) => ({ name, code: s.code }))),
    );
  }

  /** Stops every process: SIGTERM, then SIGKILL after the grace period. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const children = [...this.#children.values()].reverse();
    for (const child of children) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
    }
    const all = Promise.all(children.map((c) => c.status));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log("run-stack: some processes did not stop in time; killing them");
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already exited
        }
      }
      await all;
    }
    await Promise.allSettled(this.#pipes);
  }
}

function onStopSignal(handler: () => void): () => void {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, handler);
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, handler);
  };
}

/** Runs the local multi-process stack until a signal or a process exit. Returns the exit code for main. */
export async function runLocal(ports: StackPorts, log: (line: string) => void = (l) => console.log(l)) {
  const stack = new LocalStack(programCommand(), log);
  const procs = localProcesses(ports);
  const stopped = Promise.withResolvers<"signal">();
  const removeSignals = onStopSignal(() => stopped.resolve("signal"));
  const health = new AbortController();
  try {
    stack.start(procs[0]);
    log(`run-stack: starting soma on :${ports.axonGrpc} (status :${ports.axonHttp})`);
    const somaUp = await Promise.race([
      waitHealthy(`http://localhost:${ports.axonHttp}/v1/status`, 60_000, health.signal),
      stack.firstExit().then(() => false),
      stopped.promise.then(() => false),
    ]);
    if (!somaUp) {
      log("run-stack: soma did not become healthy");
      return 1;
    }
    const dataDir = Deno.env.get("DATA_DIR") || "./data";
    const token = Deno.env.get("AXON_TOKEN") || await readSomaToken(dataDir);
    if (token === undefined) {
      log(`run-stack: soma's access token is not in ${somaTokenPath(dataDir)}`);
      return 1;
    }
    for (const p of procs.slice(1)) stack.start({ ...p, env: { ...p.env, AXON_TOKEN: token } });
    const apiUp = await Promise.race([
      waitHealthy(`http://localhost:${ports.web}/healthz`, 60_000, health.signal),
      stack.firstExit(),
      stopped.promise.then(() => false),
    ]);
    if (apiUp !== true) {
      log(
        typeof apiUp === "object"
          ? `run-stack: ${apiUp.name} exited with code ${apiUp.code} before the stack became healthy; ` +
            `its "Error:" line above says why`
          : "run-stack: the stack did not become healthy",
      );
      return 1;
    }
    log("run-stack: local stack is up (Ctrl-C stops it)");
    for (const line of stackUrls(ports, "local", Deno.env.get("ELASTICSEARCH_URL"))) log(`  ${line}`);
    const outcome = await Promise.race([stopped.promise, stack.firstExit()]);
    if (outcome === "signal") {
      log("run-stack: stopping");
      return 0;
    }
    log(`run-stack: ${outcome.name} exited with code ${outcome.code}; stopping the others`);
    return 1;
  } finally {
    health.abort();
    removeSignals();
    await stack.stop();
  }
}

/** Builds and starts the compose stack, waits for health, prints the URLs. Returns the exit code for main. */
export async function runCompose(
  compose: string[],
  ports: StackPorts,
  log: (line: string) => void = (l) => console.log(l),
): Promise<number> {
  const [cmd, ...base] = compose;
  const args = [...base, "-p", "dendrite-stack", "-f", "docker/compose.yaml"];
  const up = await new Deno.Command(cmd, { args: [...args, "up", "--build", "-d"], stdin: "null" }).output();
  if (!up.success) {
    log("run-stack: compose up failed");
    return up.code || 1;
  }
  log("run-stack: waiting for the stack to become healthy ...");
  const ok = await waitHealthy(`http://localhost:${ports.web}/healthz`, 300_000);
  if (!ok) {
    log(
      `run-stack: not healthy after 5 minutes; see: ${
        compose.join(" ")
      } -p dendrite-stack -f docker/compose.yaml ps`,
    );
    return 1;
  }
  log("run-stack: stack is up");
  for (const line of stackUrls(ports, "compose")) log(`  ${line}`);
  log(`stop it with: deno task run-stack --down`);
  return 0;
}

/** The whole command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let args: StackArgs;
  try {
    args = parseStackArgs(argv);
  } catch (e) {
    console.error(`run-stack: ${(e as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const ports = stackPorts();
  if (args.local) return await runLocal(ports);

  const docker = Deno.env.get("RUN_STACK_DOCKER") ?? "docker";
  if (!(await dockerEngineAvailable(docker))) {
    console.error(
      "run-stack: no Docker engine available (`docker info` failed), so the compose stack cannot start.\n" +
        "  Start Docker (Docker Desktop on Windows/macOS, dockerd on Linux) and run this again, or run\n" +
        "  `deno task run-stack --local` for soma and the roles as local processes (no Docker needed).",
    );
    return 1;
  }
  const compose = await composeCommand(docker);
  if (!compose) {
    console.error("run-stack: neither `docker compose` nor `docker-compose` is installed");
    return 1;
  }
  if (args.down) {
    const [cmd, ...base] = compose;
    const out = await new Deno.Command(cmd, {
      args: [...base, "-p", "dendrite-stack", "-f", "docker/compose.yaml", "down"],
      stdin: "null",
    }).output();
    return out.code;
  }
  return await runCompose(compose, ports);
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
