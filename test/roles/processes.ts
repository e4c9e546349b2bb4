/**
 * Runs the program as real child processes (`src/main.ts --role=…`) and reads their JSON log lines, for tests that
 * split the monolith into services.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { AssertionError } from "node:assert/strict";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** One JSON log record. */
export type LogRecord = Record<string, unknown> & { readonly msg?: string };

/** A running program process. */
export class ProgramProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly records: LogRecord[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #done: Promise<void>;
  #exited = false;

  /** Runs `src/main.ts` (or `options.script`, a program of the same shape) with `args` and `env`. */
  constructor(
    name: string,
    args: string[],
    env: Record<string, string>,
    options: { readonly script?: string; readonly denoArgs?: readonly string[] } = {},
  ) {
    this.name = name;
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...(options.denoArgs ?? []), options.script ?? MAIN, ...args],
      // SQLite unless the test asks for Elasticsearch: a developer's or CI's ELASTICSEARCH_URL must not put
      // unrelated test programs into the same indices.
      env: { ELASTICSEARCH_URL: "", ...env },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([this.#read(this.child.stdout), this.#read(this.child.stderr)]).then(() => {
      this.#exited = true;
      this.#wake();
    });
  }

  async #read(stream: ReadableStream<Uint8Array<ArrayBuffer>>): Promise<void> {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.records.push(JSON.parse(line) as LogRecord);
        } catch {
          this.records.push({ msg: "(text)", text: line });
        }
        this.#wake();
      }
    }
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Waits for the first log record that `match`es (fails when the process exits first or after `timeoutMs`). */
  async waitFor(match: (record: LogRecord) => boolean, what: string, timeoutMs = 30_000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.records.find(match);
      if (found) return found;
      if (this.#exited) {
        throw new AssertionError({ message: `${this.name} exited before ${what}: ${this.tail()}` });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AssertionError({
          message: `${this.name}: no ${what} within ${timeoutMs} ms: ${this.tail()}`,
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.#waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** The last log lines, for failure messages. */
  tail(n = 8): string {
    return this.records.slice(-n).map((r) => JSON.stringify(r)).join("\n");
  }

  /** Sends `signal` and waits for the exit status. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.child.status;
    await this.#done;
    return status;
  }
}
