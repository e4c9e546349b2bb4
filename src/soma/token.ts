/**
 * soma's access token: a random secret kept in `<dataDir>/secure/soma-token` (mode 0600, created on first start and
 * reused after). Every gRPC call to soma carries it in `AxonIQ-Access-Token`, and the status page's actions send
 * it in a header. Processes that share the data directory read it from there; others get it as `AXON_TOKEN`.
 *
 * Also the rule that keeps soma off the network without authentication: beyond loopback, soma listens only with an
 * access token or TLS client authentication.
 *
 * @module
 */
import { join } from "node:path";

/** Where soma's token lives inside a data directory. */
export function somaTokenPath(dataDir: string): string {
  return join(dataDir, "secure", "soma-token");
}

/** Reads the token from `<dataDir>/secure/soma-token`; undefined when there is none (yet). */
export async function readSomaToken(dataDir: string): Promise<string | undefined> {
  try {
    const text = (await Deno.readTextFile(somaTokenPath(dataDir))).trim();
    return text === "" ? undefined : text;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Returns the token of `<dataDir>/secure/soma-token`, creating it (32 random bytes, base64url, mode 0600, in a 0700
 * folder) when it does not exist. Safe when several processes start at once: only one creates the file.
 *
 * @example
 * ```ts ignore
 * const token = await loadOrCreateSomaToken("./data");
 * const soma = await startSoma({ dataDir: "./data", accessToken: token });
 * ```
 */
export async function loadOrCreateSomaToken(dataDir: string): Promise<string> {
  const existing = await readSomaToken(dataDir);
  if (existing !== undefined) return existing;
  await Deno.mkdir(join(dataDir, "secure"), { recursive: true, mode: 0o700 });
  const token = newToken();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(somaTokenPath(dataDir), { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return await waitForToken(dataDir);
  }
  try {
    await file.write(new TextEncoder().encode(`${token}\n`));
  } finally {
    file.close();
  }
  return token;
}

/** Another process created the file a moment ago: wait (bounded) until its content is there. */
async function waitForToken(dataDir: string): Promise<string> {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    const token = await readSomaToken(dataDir);
    if (token !== undefined) return token;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(
    `The soma token file "${somaTokenPath(dataDir)}" stays empty; delete it to get a new token`,
  );
}

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Whether `host` is a loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, "").toLowerCase();
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

/** soma would listen beyond loopback without any client authentication. */
export class UnsafeExposureError extends Error {
  constructor(host: string) {
    super(
      `soma refuses to listen on AXON_HOST="${host}" without client authentication: set AXON_TOKEN ` +
        `(or keep DATA_DIR/secure/soma-token) or TLS client certificates, or use AXON_HOST=127.0.0.1`,
    );
    this.name = "UnsafeExposureError";
  }
}

/** Throws {@link UnsafeExposureError} when `host` is not loopback and neither a token nor TLS client auth is set. */
export function assertSafeExposure(
  host: string,
  accessToken: string | undefined,
  tlsClientAuth: boolean,
): void {
  if (!isLoopback(host) && (accessToken === undefined || accessToken === "") && !tlsClientAuth) {
    throw new UnsafeExposureError(host);
  }
}
