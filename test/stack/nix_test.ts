/**
 * flake.nix and nix/*.nix: syntax (`nix-instantiate --parse`) and an offline `nix flake check --no-build` against
 * the stub nixpkgs in test/stack/fixtures/stub-nixpkgs, in a temp copy of the flake (a fresh git repository, as
 * flakes see only tracked files) with a temp Nix store.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { repoPath } from "./paths.ts";
import { ignoreWithout, requireTool, run } from "./tools.ts";

const HINT = "apt-get install -y nix-bin";
const NIX_FILES = ["flake.nix", "nix/packages.nix", "nix/shell.nix", "nix/hashes.nix"];
const FLAKE_FILES = ["flake.nix", "nix", "deno.json", "deno.lock"];

const noNix = ignoreWithout("nix", HINT) || ignoreWithout("nix-instantiate", HINT) ||
  ignoreWithout("git", "apt-get install -y git");

async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isDirectory) {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      await copyTree(join(from, entry.name), join(to, entry.name));
    }
  } else {
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(from, to);
  }
}

/** A temp git repository holding the flake's files; `edit` may change them before they are committed. */
async function tempFlake(tmp: string, edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(tmp, "flake");
  for (const f of FLAKE_FILES) await copyTree(repoPath(f), join(dir, f));
  if (edit) await edit(dir);
  const git = async (...args: string[]) => {
    const r = await run("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
  };
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-qm", "flake under test");
  return dir;
}

async function flakeCheck(
  tmp: string,
  flakeDir: string,
  extraArgs: string[] = [],
): Promise<{ code: number; log: string }> {
  const stub = join(tmp, "stub-nixpkgs");
  await copyTree(repoPath("test/stack/fixtures/stub-nixpkgs"), stub);
  const r = await run("nix", [
    "--extra-experimental-features",
    "nix-command flakes",
    "flake",
    "check",
    `git+file://${flakeDir}`,
    "--override-input",
    "nixpkgs",
    `path:${stub}`,
    ...extraArgs,
    "--no-write-lock-file",
    "--no-build",
    "--offline",
    "--option",
    "substituters",
    "",
    "--store",
    join(tmp, "store"),
  ], { cwd: tmp, env: { HOME: tmp, XDG_CACHE_HOME: join(tmp, "cache") } });
  return { code: r.code, log: r.stdout + r.stderr };
}

async function withTemp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "stack-nix-" });
  try {
    await fn(tmp);
  } finally {
    // The temp store has read-only directories.
    await run("chmod", ["-R", "u+w", tmp]);
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test({
  name: "nix: every Nix file parses (nix-instantiate --parse)",
  ignore: noNix,
  fn: async () => {
    requireTool("nix-instantiate", HINT);
    for (const f of [...NIX_FILES, "test/stack/fixtures/stub-nixpkgs/flake.nix"]) {
      const r = await run("nix-instantiate", ["--parse", repoPath(f)]);
      assert.equal(r.code, 0, `${f} does not parse:\n${r.stderr}`);
    }
  },
});

Deno.test({
  name: "nix: nix-instantiate --parse rejects broken syntax (the check can fail)",
  ignore: noNix,
  fn: async () => {
    requireTool("nix-instantiate", HINT);
    await withTemp(async (tmp) => {
      const broken = join(tmp, "flake.nix");
      await Deno.writeTextFile(
        broken,
        Deno.readTextFileSync(repoPath("flake.nix")).replace("outputs =", "outputs"),
      );
      const r = await run("nix-instantiate", ["--parse", broken]);
      assert.notEqual(r.code, 0);
    });
  },
});

Deno.test({
  name: "nix: offline flake check against the stub nixpkgs (packages, image, apps, dev shell evaluate)",
  ignore: noNix,
  fn: async () => {
    requireTool("nix", HINT);
    await withTemp(async (tmp) => {
      const flake = await tempFlake(tmp);
      const r = await flakeCheck(tmp, flake);
      assert.equal(r.code, 0, `nix flake check failed:\n${r.log}`);
    });
  },
});

Deno.test({
  name: "nix: the root-key input can be overridden with a key module outside git",
  ignore: noNix,
  fn: async () => {
    requireTool("nix", HINT);
    await withTemp(async (tmp) => {
      const flake = await tempFlake(tmp);
      const key = join(tmp, "root_key.generated.ts");
      await Deno.writeTextFile(key, 'export const ROOT_PUBLIC_KEY = "test";\n');
      const r = await flakeCheck(tmp, flake, ["--override-input", "root-key", `path:${key}`]);
      assert.equal(r.code, 0, `nix flake check with an overridden root key failed:\n${r.log}`);
      assert.match(r.log, /root_key\.generated\.ts/, "the override did not reach the lock");
    });
  },
});

Deno.test({
  name: "nix: the offline flake check finds an attribute nixpkgs lacks (the check can fail)",
  ignore: noNix,
  fn: async () => {
    requireTool("nix", HINT);
    await withTemp(async (tmp) => {
      const flake = await tempFlake(tmp, async (dir) => {
        const shell = join(dir, "nix/shell.nix");
        await Deno.writeTextFile(
          shell,
          (await Deno.readTextFile(shell)).replace("pkgs.grpcurl", "pkgs.grpcurlx"),
        );
      });
      const r = await flakeCheck(tmp, flake);
      assert.notEqual(r.code, 0, "flake check passed with a misspelt package");
      assert.match(r.log, /grpcurlx/);
    });
  },
});

/** The `new URL("./….ts", import.meta.url)` modules of every file under src/ that starts a `Worker`. */
async function workerModules(dir = repoPath("src")): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await workerModules(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      const text = await Deno.readTextFile(path);
      if (!text.includes("new Worker(")) continue;
      for (const match of text.matchAll(/new URL\("(\.{1,2}\/[^"]+\.ts)", import\.meta\.url\)/g)) {
        found.push(join(dirname(path), match[1]).slice(repoPath("").length).replace(/^\//, ""));
      }
    }
  }
  return found;
}

Deno.test("the compiled binary includes every worker module the program starts (deno compile --include)", async () => {
  const workers = await workerModules();
  assert.ok(workers.includes("src/example/projection_worker.ts"), `found: ${workers.join(", ")}`);
  const packages = await Deno.readTextFile(repoPath("nix/packages.nix"));
  const compile = packages.split("\n").find((line) => line.trim().startsWith("deno compile"));
  assert.ok(compile, "nix/packages.nix runs deno compile");
  for (const worker of workers) {
    assert.ok(compile.includes(`--include ${worker}`), `${worker} in: ${compile}`);
  }
});
