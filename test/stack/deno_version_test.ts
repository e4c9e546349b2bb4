/**
 * One Deno version everywhere: CI, the README's commands, the Dockerfile and the Nix flake use the version the
 * suite runs on. Deno 2.9.4–2.9.6 abort `node:http2` servers when a client closes after concurrent calls
 * (test/soma/client_close_test.ts), so a file left on another version would ship a server that a client can
 * take down.
 */
import { assertEquals } from "../assert.ts";
import { repoPath } from "./paths.ts";

async function versionsIn(file: string, pattern: RegExp): Promise<string[]> {
  const text = await Deno.readTextFile(repoPath(file));
  return [...text.matchAll(pattern)].map((m) => m[1]);
}

Deno.test("the Deno version is the same in CI, the README, the Dockerfile and the Nix flake", async () => {
  const [ci] = await versionsIn(".ci/run", /^DENO_VERSION=(\S+)$/gm);
  const found = {
    ".ci/run": [ci],
    "README.md": await versionsIn("README.md", /deno@(\d+\.\d+\.\d+)/g),
    "docs/api.md": await versionsIn("docs/api.md", /deno@(\d+\.\d+\.\d+)/g),
    "docker/Dockerfile": await versionsIn("docker/Dockerfile", /^ARG DENO_VERSION=(\S+)$/gm),
    "nix/packages.nix": await versionsIn("nix/packages.nix", /^\s*denoVersion = "([^"]+)";$/gm),
  };
  for (const [file, versions] of Object.entries(found)) {
    assertEquals(versions.length > 0, true, `${file} names no Deno version`);
    assertEquals(new Set(versions), new Set([ci]), `${file}: ${versions.join(", ")}`);
  }
  // The suite itself runs on that version (CI installs it; `npx -y deno@<version> task test` too).
  assertEquals(Deno.version.deno, ci);
});
