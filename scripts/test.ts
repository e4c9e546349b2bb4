/**
 * `deno task test`: runs every `*_test.ts` file as its own `deno test` process, as many at once as there are
 * cores, prints each file's output when it finishes, and ends with Deno's summary line and a plain
 * `N passed, M failed` line.
 *
 * Why processes: the files start servers, child processes and browsers; one process per file keeps a crash or a
 * leak in one file from taking the others with it, and runs two files at once on two cores. Nothing is run
 * again: a failing test, or a process killed by a signal, fails the run.
 *
 * The files are type-checked first, all together as one program (`deno check`), and then run with `--no-check`:
 * a `deno test` of each file would type-check that file's whole module graph again (6–9 s a file on 2 cores, most
 * of the suite's time). A type error fails the run before any test runs. Passing `--check…` or `--no-check`
 * leaves the type checking to each `deno test` as given.
 *
 * Each file gets a temporary folder of its own as `TMPDIR` (where its `Deno.makeTempDir` data directories go),
 * removed when the file passed and named in the output when it failed, so a run leaves nothing behind.
 *
 * Arguments are passed to every `deno test` (e.g. `--filter`); `--files=a,b` limits the run to those files.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const SKIP = new Set(["node_modules", "data", "coverage", ".git"]);

async function testFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await testFiles(path));
    else if (entry.name.endsWith("_test.ts")) files.push(relative(root, path));
  }
  return files.sort();
}

interface Outcome {
  readonly file: string;
  readonly passed: number;
  readonly failed: number;
  readonly ignored: number;
  /** The signal that killed the process, if one did. */
  readonly signal: Deno.Signal | null;
  readonly success: boolean;
  readonly output: string;
}

function count(summary: string | undefined, word: string): number {
  const match = summary?.match(new RegExp(`(\\d+) ${word}`));
  return match ? Number(match[1]) : 0;
}

/** Runs `deno` with `args` in the project's folder (`env` on top); its status and everything it printed. */
async function deno(args: readonly string[], env: Record<string, string> = {}) {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: root,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  return { success: result.success, signal: result.signal, output };
}

async function runFile(file: string, args: readonly string[]): Promise<Outcome> {
  const tmp = await Deno.makeTempDir({ prefix: "dendrite-test-" });
  // As /tmp: what a test starts as another user (Elasticsearch under `runuser`) can reach and use it.
  if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o1777);
  const result = await deno(["test", "-A", ...args, file], { TMPDIR: tmp });
  let output = result.output;
  if (!result.success) output += `\n${file}: its temporary files are in ${tmp}\n`;
  else {
    await Deno.remove(tmp, { recursive: true }).catch((error) => {
      output += `\n${file}: its temporary folder ${tmp} could not be removed: ${error}\n`;
    });
  }
  const summary = output.split("\n").findLast((line) => /^(ok|FAILED) \| \d+ passed/.test(line));
  return {
    file,
    passed: count(summary, "passed"),
    failed: count(summary, "failed"),
    ignored: count(summary, "ignored"),
    signal: result.signal,
    success: result.success,
    output,
  };
}

/** Type-checks `files` as one program; true when they check. Prints what `deno check` says when they do not. */
async function checkAll(files: readonly string[]): Promise<boolean> {
  const result = await deno(["check", ...files]);
  if (!result.success) console.log(result.output);
  return result.success;
}

async function main(): Promise<number> {
  const filesArg = Deno.args.find((arg) => arg.startsWith("--files="));
  const given = Deno.args.filter((arg) => arg !== filesArg);
  const files = filesArg ? filesArg.slice("--files=".length).split(",") : await testFiles(root);
  const started = performance.now();
  const checkGiven = given.some((arg) => arg.startsWith("--check") || arg === "--no-check");
  if (!checkGiven && !await checkAll(files)) {
    console.log(
      `\nFAILED | 0 passed | 1 failed | 0 ignored (the type check of ${files.length} files failed)`,
    );
    console.log("0 passed, 1 failed");
    return 1;
  }
  const args = checkGiven ? given : ["--no-check", ...given];
  const outcomes: Outcome[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const outcome = await runFile(file, args);
      console.log(outcome.output.trimEnd());
      if (outcome.signal !== null) console.log(`${file}: the test process was killed by ${outcome.signal}.`);
      outcomes.push(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, navigator.hardwareConcurrency) }, worker));

  const passed = outcomes.reduce((n, o) => n + o.passed, 0);
  const ignored = outcomes.reduce((n, o) => n + o.ignored, 0);
  // A file that failed without a summary (crashed, or did not compile) counts as one failure.
  const failed = outcomes.reduce((n, o) => n + (o.failed > 0 ? o.failed : o.success ? 0 : 1), 0);
  const broken = outcomes.filter((o) => !o.success).map((o) => o.file);
  const seconds = Math.round((performance.now() - started) / 1000);
  console.log("");
  if (broken.length > 0) console.log(`Failing files: ${broken.join(", ")}`);
  console.log(
    `${
      failed > 0 ? "FAILED" : "ok"
    } | ${passed} passed | ${failed} failed | ${ignored} ignored (${seconds}s, ${files.length} files)`,
  );
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

Deno.exitCode = await main();
