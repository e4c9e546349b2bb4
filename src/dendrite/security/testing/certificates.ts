/**
 * Test certificates: a CA and a leaf certificate it signed (Deno refuses a self-signed certificate that is also a
 * CA, so tests need both), made with the `openssl` command line tool in a temporary directory.
 *
 * @module
 */
import { join } from "node:path";

/** The generated files and their PEM contents. */
export interface TestCertificates {
  readonly dir: string;
  readonly caCert: string;
  readonly caCertFile: string;
  readonly cert: string;
  readonly certFile: string;
  readonly key: string;
  readonly keyFile: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Whether the `openssl` tool is available. */
export async function hasOpenssl(): Promise<boolean> {
  try {
    return (await new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/**
 * Creates a CA and a leaf certificate for `localhost`, `127.0.0.1` and `::1` (Ed25519 keys, one day).
 *
 * @example
 * ```ts ignore
 * const certs = await createTestCertificates();
 * const server = http2.createSecureServer({ cert: certs.cert, key: certs.key, allowHTTP1: true });
 * // client: { ca: certs.caCert }
 * await certs.remove();
 * ```
 */
export async function createTestCertificates(commonName = "localhost"): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-tls-" });
  try {
    await openssl(dir, [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      "ca.key",
    ]);
    await openssl(dir, [
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-days",
      "1",
      "-subj",
      "/CN=dendrite test CA",
      "-out",
      "ca.crt",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]); // deno-fmt-ignore
    await openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "leaf.key"]);
    await openssl(dir, ["req", "-new", "-key", "leaf.key", "-subj", `/CN=${commonName}`, "-out", "leaf.csr"]);
    await Deno.writeTextFile(
      join(dir, "leaf.ext"),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=DNS:${commonName},IP:127.0.0.1,IP:::1`,
      ].join("\n") + "\n",
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "leaf.ext",
      "-out",
      "leaf.crt",
    ]); // deno-fmt-ignore
    const read = (name: string) => Deno.readTextFile(join(dir, name));
    return {
      dir,
      caCert: await read("ca.crt"),
      caCertFile: join(dir, "ca.crt"),
      cert: await read("leaf.crt"),
      certFile: join(dir, "leaf.crt"),
      key: await read("leaf.key"),
      keyFile: join(dir, "leaf.key"),
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}
