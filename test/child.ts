/**
 * Child processes for tests and benchmarks: `deno run -A <script>` that announces itself with a first line on
 * stdout (its port, say).
 *
 * @module
 */

/** A running child and the first line it printed. */
export interface ReadyChild {
  readonly child: Deno.ChildProcess;
  readonly line: string;
}

/**
 * Starts `deno run -A <script> ...args` (stderr inherited) and resolves once it printed its first line; stdout is
 * not read after that. Rejects when the child ends first, or kills it and rejects when it prints nothing within
 * `timeoutMs` (default 60 s).
 */
export async function spawnReady(
  script: string | URL,
  options: {
    readonly args?: readonly string[];
    readonly env?: Record<string, string>;
    readonly timeoutMs?: number;
  } = {},
): Promise<ReadyChild> {
  const path = script instanceof URL ? script.pathname : script;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...(options.args ?? [])],
    env: options.env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done && timedOut) throw new Error(`${path} printed no line within ${timeoutMs} ms: ${text}`);
      if (done) throw new Error(`${path} ended before it printed a line: ${text}`);
      text += value;
    }
  } finally {
    clearTimeout(deadline);
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, line: text.slice(0, text.indexOf("\n")) };
}
