/**
 * The real program (`src/main.ts`, embedded soma) as a child process for security tests: temporary data
 * folder, ephemeral ports, its own root key module; its JSON log lines (stdout and stderr) are collected.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Ed25519KeyPair, fromPem, importPrivateKey } from "../../src/dendrite/security/mod.ts";
import { SecureFiles } from "../../src/example/security/mod.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A running program. */
export interface Program {
  /** The front door (Connect, grpc-web, UI). */
  readonly url: string;
  /** The gRPC port (`GRPC_PORT`). */
  readonly grpcUrl: string;
  /** The embedded soma's gRPC port (0 when it joined another server). */
  readonly somaPort: number;
  /** The embedded soma's status port (0 when it joined another server). */
  readonly somaHttpPort: number;
  /** Every log line so far (stdout and stderr), parsed. */
  readonly lines: Record<string, unknown>[];
  rootKeyManager(): Promise<Ed25519KeyPair>;
  /** SIGTERM, then waits for the exit; returns the exit code. */
  stop(): Promise<number>;
}

async function pump(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
  lines: Record<string, unknown>[],
  onLine: () => void,
) {
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        lines.push(JSON.parse(text));
      } catch {
        lines.push({ text });
      }
      onLine();
    }
  }
}

/**
 * Starts `src/main.ts` over `dataDir` and waits (bounded) until its API listens, and its soma unless
 * `axonServer` names another one to join (then it runs the command, projection and API roles).
 */
export async function startProgram(
  dataDir: string,
  env: Record<string, string> = {},
  axonServer?: string,
): Promise<Program> {
  const roles = axonServer ? ["--role=command,projection,api"] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", "--port=0", "--grpc-port=0", `--data-dir=${dataDir}`, ...roles],
    cwd: ROOT,
    env: {
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      ...(axonServer ? { AXON_SERVER: axonServer } : {}),
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let wake = () => {};
  const ended = Promise.all([
    pump(child.stdout, lines, () => wake()),
    pump(child.stderr, lines, () => wake()),
  ]).then(() => wake());
  const find = (msg: string) => lines.find((l) => l.msg === msg);
  const deadline = Date.now() + 60_000;
  let exited = false;
  child.status.then(() => {
    exited = true;
    wake();
  });
  while (!(find("listening") && (axonServer || find("soma listening")))) {
    if (exited || Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      throw new Error(`the program did not start: ${JSON.stringify(lines)}`);
    }
    // Woken by output or the exit; the timer only marks the deadline.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return {
    url: `http://127.0.0.1:${find("listening")!.port}`,
    grpcUrl: `http://127.0.0.1:${find("listening")!.grpcPort}`,
    somaPort: Number(find("soma listening")?.port ?? 0),
    somaHttpPort: Number(find("soma listening")?.httpPort ?? 0),
    lines,
    async rootKeyManager() {
      return await importPrivateKey(
        fromPem(await Deno.readTextFile(join(dataDir, "secure", SecureFiles.rootPrivateKey))),
      );
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await ended;
      return status.code;
    },
  };
}
