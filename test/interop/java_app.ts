/**
 * Builds and runs the Axon Framework interop app (test/interop/axon-framework) with Maven and Java.
 *
 * The build output goes to a cache folder per checkout under the system temp dir (not into the repository);
 * Maven runs offline (`-o`) first and online only when the local repository lacks something.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { tmpdir } from "node:os";

const project = fileURLToPath(new URL("./axon-framework", import.meta.url));

/** Whether `command --version` runs. */
export async function available(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args: ["-version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function maven(cwd: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command("mvn", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, output: text };
}

/**
 * Compiles the Maven project in `directory` (offline first) into a build folder named `name-<checkout digest>`
 * under the system temp dir; resolves with the java classpath.
 */
export async function buildMavenProject(directory: string, name: string): Promise<string> {
  // One build folder per checkout: worktrees built side by side must not share (and wipe) one.
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(directory)));
  const id = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  const target = join(tmpdir(), `${name}-${id}`);
  const classpathFile = join(target, "classpath.txt");
  const args = [
    "-q",
    "compile",
    "dependency:build-classpath",
    `-Dmdep.outputFile=${classpathFile}`,
    `-Dinterop.target=${target}`,
  ];
  let result = await maven(directory, ["-o", ...args]);
  if (!result.ok) result = await maven(directory, args);
  if (!result.ok) throw new Error(`The Maven build of ${directory} failed:\n${result.output.slice(-4000)}`);
  const dependencies = (await Deno.readTextFile(classpathFile)).trim();
  return [join(target, "classes"), dependencies].join(":");
}

/** Compiles the app; resolves with the java classpath. */
export function buildJavaApp(): Promise<string> {
  return buildMavenProject(project, "dendrite-axon-interop");
}

/** A running JVM with its output lines. */
export class JavaApp {
  readonly lines: string[] = [];
  readonly #process: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #done: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(classpath: string, env: Record<string, string>, args: string[] = []) {
    this.#process = new Deno.Command("java", {
      args: [
        "-Ddisable-axoniq-console-message=true",
        "-Xmx512m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        classpath,
        "interop.Main",
        ...args,
      ],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#process.stdin.getWriter();
    this.#done = Promise.all([this.#read(this.#process.stdout), this.#read(this.#process.stderr)]).then(
      () => {},
    );
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      const chunk = decoder.decode(bytes, { stream: true });
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
      this.#wake();
    }
    if (rest) this.lines.push(rest);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits for a line equal to `line`; fails after `timeoutMs` or when the JVM ends first. */
  async waitFor(line: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.#done.then(() => {
      ended = true;
      this.#wake();
    });
    while (!this.lines.includes(line)) {
      const left = deadline - Date.now();
      if (ended) throw new Error(`The JVM ended before "${line}":\n${this.tail()}`);
      if (left <= 0) throw new Error(`Timed out waiting for "${line}":\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** `RESULT <name> PASS|FAIL <detail>` lines by scenario name. */
  results(): Map<string, { pass: boolean; detail: string }> {
    const out = new Map<string, { pass: boolean; detail: string }>();
    for (const line of this.lines) {
      const match = /^RESULT (\S+) (PASS|FAIL) ?(.*)$/.exec(line);
      if (match) out.set(match[1], { pass: match[2] === "PASS", detail: match[3] });
    }
    return out;
  }

  /** The last lines of output, for failure messages. */
  tail(count = 60): string {
    return this.lines.slice(-count).join("\n");
  }

  /** Writes one line to its standard input. */
  async send(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Kills the JVM with SIGKILL and waits for it to end. */
  async kill(): Promise<void> {
    this.#process.kill("SIGKILL");
    await this.#process.status;
    await this.#done;
  }

  /** Closes stdin (the app shuts down); kills it if it does not end within `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // it ended meanwhile
      }
    }, timeoutMs);
    try {
      await this.#process.status;
      await this.#done;
    } finally {
      clearTimeout(timer);
    }
  }
}
