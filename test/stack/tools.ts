/**
 * External tools for the stack tests (nix, docker-compose). They are not needed to develop the program, so a
 * developer without them gets an ignored test and a clear note; CI (CI=true) installs them from Debian
 * (`apt-get install -y nix-bin docker-compose`) and there a missing tool fails the test.
 *
 * @module
 */

/** Result of running a command to completion. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and collects its output. Throws only when the executable cannot be started. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** True when `cmd` can be started (checked with `cmd --version`). */
export function toolAvailable(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** In CI a missing tool is a failure; elsewhere the test is ignored. */
export const toolsRequired: boolean = Deno.env.get("CI") === "true";

/**
 * Whether tests needing `cmd` should be ignored. Prints the reason once when they are. In CI a missing tool is
 * not ignored: the tests run and fail on their first assertion that the tool exists.
 */
export function ignoreWithout(cmd: string, installHint: string): boolean {
  if (toolAvailable(cmd)) return false;
  if (toolsRequired) return false;
  console.warn(`NOTE: '${cmd}' not found: its stack tests are IGNORED here. Install with: ${installHint}`);
  return true;
}

/** Fails with a clear message when `cmd` is missing (used as the first step of tests that need it). */
export function requireTool(cmd: string, installHint: string): void {
  if (!toolAvailable(cmd)) {
    throw new Error(`'${cmd}' is not installed but this test needs it. Install with: ${installHint}`);
  }
}
