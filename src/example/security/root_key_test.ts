import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import type { SecurityLogger } from "../../dendrite/security/mod.ts";
import {
  ensureRootKey,
  importRootKeyModule,
  initRootKey,
  loadRootKey,
  RootKeyExistsError,
  RootKeyMismatchError,
  RootKeyMissingError,
  SecureFiles,
} from "./root_key.ts";

const quiet: SecurityLogger = { info: () => {}, warn: () => {} };
const mode = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;

Deno.test("`deno task keys init` writes a 0600 private key and the module, and refuses to overwrite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-keys-" });
  try {
    const modulePath = join(dir, "root_key.generated.ts");
    const run = (...extra: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "scripts/keys.ts",
          "init",
          "--data-dir",
          join(dir, "data"),
          "--module",
          modulePath,
          ...extra,
        ],
        cwd: new URL("../../..", import.meta.url),
        stdout: "piped",
        stderr: "piped",
      }).output();
    const first = await run();
    assert(first.success, new TextDecoder().decode(first.stderr));
    const privatePath = join(dir, "data", "secure", SecureFiles.rootPrivateKey);
    assertEquals(await mode(privatePath), 0o600);
    assertEquals(await mode(join(dir, "data", "secure")), 0o700);
    const pem = await Deno.readTextFile(privatePath);
    assert(pem.startsWith("-----BEGIN PRIVATE KEY-----"));
    const root = await loadRootKey(modulePath);
    assert(new TextDecoder().decode(first.stdout).includes(root.keyId));
    assert(
      !new TextDecoder().decode(first.stdout).includes(pem.split("\n")[1]),
      "the private key is not printed",
    );
    const source = await Deno.readTextFile(modulePath);
    assert(!source.includes(pem.split("\n")[1]), "the module holds no private key");

    const again = await run();
    assertEquals(again.code, 2);
    assert(new TextDecoder().decode(again.stderr).includes("--force"));
    assertEquals(await Deno.readTextFile(privatePath), pem, "the key was not touched");

    const forced = await run("--force");
    assert(forced.success);
    assert((await Deno.readTextFile(privatePath)) !== pem);
    assertEquals(await mode(privatePath), 0o600);
    assert((await loadRootKey(modulePath)).keyId !== root.keyId);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadRootKey() names the fix when the module is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => loadRootKey(join(dir, "missing.ts")),
      RootKeyMissingError,
      "deno task keys init",
    );
    assertEquals(await importRootKeyModule(join(dir, "missing.ts")), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ensureRootKey() in development: a new data folder gets its own root key and the module follows the folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const modulePath = join(dir, "root.ts");
    const first = join(dir, "first", "secure");
    const created = await ensureRootKey({ secureDir: first, modulePath, logger: quiet });
    assertEquals(created.root.keyId, created.manager.keyId);
    // The module is rewritten from the existing private key.
    await Deno.remove(modulePath);
    assertEquals(
      (await ensureRootKey({ secureDir: first, modulePath, logger: quiet })).root.keyId,
      created.root.keyId,
    );
    // A new folder (or a deleted one): a fresh pair, and the module now holds it.
    const second = await ensureRootKey({
      secureDir: join(dir, "second", "secure"),
      modulePath,
      logger: quiet,
    });
    assert(second.root.keyId !== created.root.keyId);
    assertEquals(second.root.keyId, second.manager.keyId);
    assertEquals((await loadRootKey(modulePath)).keyId, second.root.keyId);
    // Back to the first folder: its own key again.
    assertEquals(
      (await ensureRootKey({ secureDir: first, modulePath, logger: quiet })).root.keyId,
      created.root.keyId,
    );
    await assertRejects(() => initRootKey({ secureDir: first, modulePath }), RootKeyExistsError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ensureRootKey() in release mode refuses another or a missing private key and never writes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secureDir = join(dir, "secure");
    const modulePath = join(dir, "root.ts");
    await assertRejects(
      () => ensureRootKey({ secureDir, modulePath, logger: quiet, release: true }),
      RootKeyMissingError,
      "deno task keys init",
    );
    const { keyId } = await initRootKey({ secureDir, modulePath });
    const ok = await ensureRootKey({ secureDir, modulePath, logger: quiet, release: true });
    assertEquals(ok.root.keyId, keyId);
    await initRootKey({ secureDir, modulePath: join(dir, "other.ts"), force: true });
    await assertRejects(
      () => ensureRootKey({ secureDir, modulePath, logger: quiet, release: true }),
      RootKeyMismatchError,
      "is not the compiled-in root key",
    );
    await Deno.remove(join(secureDir, SecureFiles.rootPrivateKey));
    await assertRejects(
      () => ensureRootKey({ secureDir, modulePath, logger: quiet, release: true }),
      RootKeyMismatchError,
      "is not at",
    );
    assertEquals((await loadRootKey(modulePath)).keyId, keyId, "the module was not rewritten");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
