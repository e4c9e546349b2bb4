/**
 * soma as a separate process (`src/soma/main.ts`), so a test can kill it with SIGKILL and start it again on the
 * same ports and data dir.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../../src/soma/main.ts", import.meta.url));

/** A running soma process. */
export class SomaProcess {
  readonly #process: Deno.ChildProcess;
  readonly #output: string[];
  readonly port: number;
  readonly httpPort: number;

  private constructor(process: Deno.ChildProcess, output: string[], port: number, httpPort: number) {
    this.#process = process;
    this.#output = output;
    this.port = port;
    this.httpPort = httpPort;
  }

  /** Starts soma; port 0 picks free ports. Resolves once it printed its listening line (or fails after 30 s). */
  static async start(
    options: { dataDir: string; token: string; port?: number; httpPort?: number },
  ): Promise<SomaProcess> {
    const process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main],
      env: {
        DATA_DIR: options.dataDir,
        AXON_TOKEN: options.token,
        AXON_PORT: String(options.port ?? 0),
        AXON_HTTP_PORT: String(options.httpPort ?? 0),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output: string[] = [];
    const listening = Promise.withResolvers<{ port: number; httpPort: number }>();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let rest = "";
      for await (const bytes of stream) {
        const parts = (rest + decoder.decode(bytes, { stream: true })).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) {
          output.push(line);
          if (line.startsWith('{"soma":"listening"')) listening.resolve(JSON.parse(line));
        }
      }
      if (rest) output.push(rest);
    };
    void Promise.all([drain(process.stdout), drain(process.stderr)]).then(() =>
      listening.reject(new Error(`soma ended before listening:\n${output.join("\n")}`))
    );
    const timer = setTimeout(() => listening.reject(new Error("soma did not start within 30 s")), 30_000);
    try {
      const { port, httpPort } = await listening.promise;
      return new SomaProcess(process, output, port, httpPort);
    } catch (error) {
      process.kill("SIGKILL");
      await process.status;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process with SIGKILL (no graceful close) and waits for it to end. */
  async kill(): Promise<void> {
    this.#process.kill("SIGKILL");
    await this.#process.status;
  }

  /** Stops it gracefully (SIGTERM). */
  async stop(): Promise<void> {
    try {
      this.#process.kill("SIGTERM");
    } catch {
      // already ended
    }
    await this.#process.status;
  }

  /** Its output so far, for failure messages. */
  tail(count = 30): string {
    return this.#output.slice(-count).join("\n");
  }
}
