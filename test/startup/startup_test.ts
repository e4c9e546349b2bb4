/**
 * Starting the real program (`src/main.ts`) as a newcomer does: any new data folder starts in development, one
 * after another with the same root key module; release mode refuses a folder without the compiled-in key in one
 * line; a port in use is named with its setting; a failed start leaves no SQLite files; `keys init` honours
 * `DATA_DIR`.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const decoder = new TextDecoder();

/** Environment of a program on ephemeral ports with its data and root key module in `dir`. */
function programEnv(
  dir: string,
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: "0",
    GRPC_PORT: "0",
    AXON_PORT: "0",
    AXON_HTTP_PORT: "0",
    DATA_DIR: dataDir,
    DENDRITE_ROOT_KEY_MODULE: join(dir, "root_key.generated.ts"),
    DENDRITE_ADMIN_PASSWORD: "",
    DENDRITE_RELEASE: "",
    ...extra,
  };
}

/** Runs the program to its end (a start that fails), with a bound. */
async function runToEnd(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts"],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** Starts the program, waits for its "listening" record, checks /healthz, stops it with SIGTERM. */
async function startHealthyAndStop(env: Record<string, string>): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts"],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port: number | undefined;
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    while (port === undefined) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the program ended before listening:\n${text}\n${await stderr}`);
      text += value;
      const match = text.match(/"msg":"listening"[^\n]*"port":(\d+)/);
      if (match) port = Number(match[1]);
    }
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assertEquals(health.status, 200);
    assertEquals(await health.json(), { status: "ok" });
    child.kill("SIGTERM");
    while (!(await lines.read()).done) { /* drain stdout until the program ends */ }
    assertEquals((await child.status).code, 0, await stderr);
  } finally {
    clearTimeout(deadline);
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
    await child.status;
  }
}

async function sqliteFilesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.name.includes(".sqlite")) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

Deno.test("main: two new data folders in a row both start healthy (development)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-startup-" });
  try {
    await startHealthyAndStop(programEnv(dir, join(dir, "first")));
    await startHealthyAndStop(programEnv(dir, join(dir, "second")));
    // And the first folder again, after the module followed the second one.
    await startHealthyAndStop(programEnv(dir, join(dir, "first")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main: release mode refuses a data folder without the compiled-in key in one line, leaving no SQLite files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-startup-" });
  try {
    await startHealthyAndStop(programEnv(dir, join(dir, "built-with")));
    const other = join(dir, "other");
    const refused = await runToEnd(programEnv(dir, other, { DENDRITE_RELEASE: "1" }));
    assertEquals(refused.code, 1, refused.stderr);
    const errors = refused.stderr.split("\n").filter((line) => line.startsWith("Error:"));
    assertEquals(errors.length, 1, refused.stderr);
    assert(errors[0].includes("Release mode") && errors[0].includes("root-key-manager.pem"), errors[0]);
    assert(errors[0].includes(join(other, "secure")), errors[0]);
    assert(!/^\s+at /m.test(refused.stderr + refused.stdout), "no stack trace");
    assertEquals(await sqliteFilesIn(other), []);
    // The folder it was built with still starts in release mode.
    await startHealthyAndStop(programEnv(dir, join(dir, "built-with"), { DENDRITE_RELEASE: "1" }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const setting of ["PORT", "AXON_PORT", "AXON_HTTP_PORT"] as const) {
  Deno.test(`main: ${setting} in use is named in one line with its port, no stack, exit code 1`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "dendrite-startup-" });
    const holder = Deno.listen({ port: 0, hostname: "0.0.0.0" });
    try {
      const port = (holder.addr as Deno.NetAddr).port;
      const dataDir = join(dir, "data");
      const result = await runToEnd(programEnv(dir, dataDir, { [setting]: String(port) }));
      assertEquals(result.code, 1, result.stderr);
      const errors = result.stderr.split("\n").filter((line) => line.startsWith("Error:"));
      assertEquals(errors.length, 1, result.stderr);
      assert(errors[0].includes(`Port ${port} (${setting}) is already in use`), errors[0]);
      assert(!/^\s+at /m.test(result.stderr + result.stdout), "no stack trace");
      assert(!result.stderr.includes('"stack"'), result.stderr);
      assertEquals(await sqliteFilesIn(dataDir), []);
    } finally {
      holder.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("`deno task keys init` writes under DATA_DIR when it is set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-startup-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "keys", "init", "--module", join(dir, "root.ts")],
      cwd: ROOT,
      env: { DATA_DIR: join(dir, "elsewhere") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(output.success, decoder.decode(output.stderr));
    await Deno.stat(join(dir, "elsewhere", "secure", "root-key-manager.pem"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
