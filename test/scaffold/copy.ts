/**
 * A temporary copy of this repository for the scaffolding tests: the files git knows (committed or not, minus the
 * ignored ones), with `node_modules` linked to this checkout's, so `deno task new` can change the copy freely.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { listFiles } from "../../scripts/new/service_prune.ts";
import { assert } from "../assert.ts";

/** This repository's root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The output of a finished command. */
export interface Ran {
  readonly success: boolean;
  readonly output: string;
}

/** Runs `deno ...args` in `cwd` (bounded by `timeoutMs`) and returns its exit and combined output. */
export async function deno(cwd: string, args: readonly string[], timeoutMs = 300_000): Promise<Ran> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { success: result.success, output: decode(result.stdout) + decode(result.stderr) };
}

/** Runs `deno ...args` in `cwd` and fails the test with its output when it fails. */
export async function denoOk(cwd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const ran = await deno(cwd, args, timeoutMs);
  assert(ran.success, `deno ${args.join(" ")} failed:\n${ran.output}`);
  return ran.output;
}

/**
 * The repository's files as git lists them (tracked and untracked, not ignored); outside a git work tree (a
 * copy made by these tests) every file but dependencies and data.
 */
async function repositoryFiles(): Promise<string[]> {
  const result = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!result.success) return listFiles(ROOT);
  return new TextDecoder().decode(result.stdout).split("\0").filter((path) => path !== "");
}

/** Copies the repository into a fresh temporary folder; returns the folder. */
export async function copyRepository(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-scaffold-" });
  for (const path of await repositoryFiles()) {
    const from = join(ROOT, path);
    try {
      if (!(await Deno.lstat(from)).isFile) continue;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // deleted in the work tree, not yet committed
      throw error;
    }
    await Deno.mkdir(join(dir, dirname(path)), { recursive: true });
    await Deno.copyFile(from, join(dir, path));
  }
  await Deno.symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Every file under `dir` (but `node_modules`) with its content, to prove that nothing was written. */
export async function snapshot(dir: string, under = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(join(dir, under))) {
    const path = under === "" ? entry.name : `${under}/${entry.name}`;
    if (entry.name === "node_modules") continue;
    if (entry.isDirectory) { for (const [p, c] of await snapshot(dir, path)) files.set(p, c); }
    else if (entry.isFile) files.set(path, await Deno.readTextFile(join(dir, path)));
  }
  return files;
}
