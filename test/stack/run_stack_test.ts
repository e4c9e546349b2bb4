/** scripts/run_stack.ts: argument handling, the no-Docker path, and the local multi-process stack. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  localProcesses,
  parseStackArgs,
  programCommand,
  stackPorts,
  stackUrls,
} from "../../scripts/run_stack.ts";
import { repoPath } from "./paths.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("run-stack: arguments, ports from the environment and the printed URLs", () => {
  assert.deepEqual(parseStackArgs(["--local"]), { local: true, down: false, help: false });
  assert.throws(() => parseStackArgs(["--locl"]), /unknown argument --locl/);
  const env = new Map([["PORT", "9000"], ["AXON_PORT", "9124"], ["GRPC_PORT", "9001"]]);
  const ports = stackPorts((n) => env.get(n));
  assert.deepEqual(ports, { web: 9000, grpc: 9001, axonGrpc: 9124, axonHttp: 8024 });
  assert.throws(() => stackPorts((n) => (n === "PORT" ? "http" : undefined)), /not a port/);
  const urls = stackUrls(ports, "local").join("\n");
  assert.match(urls, /http:\/\/localhost:9000\//);
  assert.match(urls, /localhost:9124/);
  assert.match(urls, /API gRPC .* localhost:9001$/m);
  assert.equal(localProcesses(ports).at(-1)?.env.GRPC_PORT, "9001");
  assert.match(urls, /soma dashboard +http:\/\/localhost:8024\/$/m, "the page, not the JSON");
  assert.match(stackUrls(ports, "compose").join("\n"), /localhost:9200/);
  const roles = localProcesses(ports).map((p) => p.role);
  assert.deepEqual(roles, ["soma", "command", "projection", "projection", "api"]);
  assert.ok(localProcesses(ports).slice(1).every((p) => p.env.AXON_SERVER === "localhost:9124"));
  assert.deepEqual(programCommand('["/bin/x", "-v"]'), ["/bin/x", "-v"]);
  assert.equal(programCommand(undefined).at(-1), "src/main.ts");
});

Deno.test("run-stack: without a Docker engine it says so and exits non-zero", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", repoPath("scripts/run_stack.ts")],
    env: { RUN_STACK_DOCKER: "/nonexistent/docker" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1);
  assert.match(stderr, /no Docker engine available/);
  assert.match(stderr, /--local/);
});

Deno.test("run-stack --local: starts soma and the roles with soma's token, prints the URLs, stops them on SIGTERM", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "stack-local-" });
  const log = join(tmp, "processes.log");
  const ports = {
    PORT: freePort(),
    GRPC_PORT: freePort(),
    AXON_PORT: freePort(),
    AXON_HTTP_PORT: freePort(),
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", repoPath("scripts/run_stack.ts"), "--local"],
    cwd: tmp,
    env: {
      PORT: String(ports.PORT),
      GRPC_PORT: String(ports.GRPC_PORT),
      AXON_PORT: String(ports.AXON_PORT),
      AXON_HTTP_PORT: String(ports.AXON_HTTP_PORT),
      FAKE_SOMA_PORT: String(ports.AXON_PORT),
      FAKE_PROGRAM_LOG: log,
      DATA_DIR: join(tmp, "data"),
      RUN_STACK_PROGRAM: JSON.stringify([
        Deno.execPath(),
        "run",
        "-A",
        repoPath("test/stack/fixtures/fake_program.ts"),
      ]),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    let output = "";
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    // Bounded: a stack that does not come up within 60 s is killed, which ends the read.
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, 60_000);
    try {
      while (!output.includes("local stack is up") || !output.includes("soma dashboard")) {
        const { value, done } = await reader.read();
        assert.ok(!timedOut, `the local stack did not come up within 60 s:\n${output}`);
        assert.ok(!done, `run-stack ended early:\n${output}`);
        output += decoder.decode(value, { stream: true });
      }
    } finally {
      clearTimeout(deadline);
    }
    assert.match(output, new RegExp(`http://localhost:${ports.PORT}/`));
    const health = await fetch(`http://127.0.0.1:${ports.PORT}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();

    child.kill("SIGTERM");
    reader.releaseLock();
    const [status] = await Promise.all([child.status, child.stdout.cancel(), child.stderr.cancel()]);
    assert.equal(status.code, 0);
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    const started = lines.filter((l) => l.includes(" start ")).map((l) => l.split(" ")[0]).sort();
    const stopped = lines.filter((l) => l.includes(" stop ")).map((l) => l.split(" ")[0]).sort();
    assert.deepEqual(started, ["api", "command", "projection", "projection", "soma"]);
    assert.deepEqual(stopped, started, "not every process was stopped");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await Deno.remove(tmp, { recursive: true });
  }
});
