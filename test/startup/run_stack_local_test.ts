/**
 * `deno task run-stack --local` with the real program on a new data folder, while the root key module holds
 * another folder's key (what a second folder, or a deleted one, looks like): the stack comes up healthy.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test({
  name: "run-stack --local: a new DATA_DIR comes up healthy with the real program",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dendrite-stack-" });
    const modulePath = join(dir, "root_key.generated.ts");
    const init = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/keys.ts", "init", "--data-dir", join(dir, "old"), "--module", modulePath],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(init.success, new TextDecoder().decode(init.stderr));
    const ports = {
      PORT: freePort(),
      GRPC_PORT: freePort(),
      AXON_PORT: freePort(),
      AXON_HTTP_PORT: freePort(),
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/run_stack.ts", "--local"],
      cwd: ROOT,
      env: {
        PORT: String(ports.PORT),
        GRPC_PORT: String(ports.GRPC_PORT),
        AXON_PORT: String(ports.AXON_PORT),
        AXON_HTTP_PORT: String(ports.AXON_HTTP_PORT),
        DATA_DIR: join(dir, "new"),
        DENDRITE_ROOT_KEY_MODULE: modulePath,
        DENDRITE_ADMIN_PASSWORD: "",
        DENDRITE_RELEASE: "",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const deadline = setTimeout(() => child.kill("SIGKILL"), 120_000);
    let output = "";
    try {
      while (!output.includes("local stack is up") && !output.includes("before the stack became healthy")) {
        const { value, done } = await reader.read();
        if (done) break;
        output += value;
      }
      if (!output.includes("local stack is up")) {
        throw new Error(`run-stack did not come up:\n${output}\n${await stderr}`);
      }
      const health = await fetch(`http://127.0.0.1:${ports.PORT}/healthz`);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      child.kill("SIGTERM");
      while (!(await reader.read()).done) { /* until run-stack ends */ }
      assertEquals((await child.status).code, 0);
    } finally {
      clearTimeout(deadline);
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      await child.status;
      await stderr;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
