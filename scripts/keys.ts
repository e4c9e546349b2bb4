/**
 * `deno task keys init [--force] [--data-dir DIR]`: creates a fresh root key manager pair under `DIR/secure`
 * (default `$DATA_DIR/secure`, else `data/secure`; private key mode 0600) and the git-ignored module
 * `src/example/security/root_key.generated.ts` that compiles its public key into the program.
 * Refuses to overwrite an existing key without `--force`. `--module PATH` writes the module elsewhere (tests).
 *
 * @module
 */
import { join } from "node:path";
import { initRootKey, RootKeyExistsError } from "../src/example/security/root_key.ts";

const usage =
  "Usage: deno task keys init [--force] [--data-dir DIR]  (DIR defaults to DATA_DIR, else ./data)";

function parse(
  args: readonly string[],
): { command: string; force: boolean; dataDir: string; module?: string } {
  let force = false;
  let dataDir = Deno.env.get("DATA_DIR")?.trim() || "data";
  let module: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--force") force = true;
    else if (arg === "--data-dir" && i + 1 < args.length) dataDir = args[++i];
    else if (arg.startsWith("--data-dir=")) dataDir = arg.slice("--data-dir=".length);
    else if (arg === "--module" && i + 1 < args.length) module = args[++i];
    else rest.push(arg);
  }
  if (rest.length !== 1) throw new TypeError(usage);
  return { command: rest[0], force, dataDir, module };
}

if (import.meta.main) {
  try {
    const { command, force, dataDir, module } = parse(Deno.args);
    if (command !== "init") throw new TypeError(usage);
    const secureDir = join(dataDir, "secure");
    const { keyId, modulePath } = await initRootKey({ secureDir, force, modulePath: module });
    console.log(`Root key manager ${keyId}`);
    console.log(`  private key: ${join(secureDir, "root-key-manager.pem")} (mode 0600, keep it secret)`);
    console.log(`  module:      ${modulePath} (git-ignored, compiled into the program)`);
  } catch (error) {
    if (error instanceof RootKeyExistsError || error instanceof TypeError) {
      console.error(error.message);
      Deno.exit(2);
    }
    throw error;
  }
}
