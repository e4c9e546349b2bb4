/**
 * Test certificates: a CA, a server leaf certificate and a client leaf certificate it signed (Deno refuses a
 * self-signed certificate that is also a CA, so tests need both), made with the `openssl` command line tool in a temporary directory.
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
  /** A client certificate (extended key usage clientAuth, CN `client`) the same CA signed, for TLS client auth. */
  readonly clientCert: string;
  readonly clientKey: string;
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

/** Makes `<name>.key` and `<name>.crt`, signed by `ca.crt`/`ca.key` in `dir`, with the given extensions. */
async function issueLeaf(dir: string, name: string, commonName: string, extensions: string[]): Promise<void> {
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    `${name}.key`,
  ]);
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${commonName}`,
    "-out",
    `${name}.csr`,
  ]);
  await Deno.writeTextFile(
    join(dir, `${name}.ext`),
    ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", ...extensions].join("\n") +
      "\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  ]); // deno-fmt-ignore
}

/**
 * Creates a CA, a client leaf certificate and a server leaf certificate for `localhost`, `127.0.0.1` and `::1` (Ed25519 keys, one day).
 *
 * @example
 * ```ts
 * import * as http2 from "node:http2";
 * import { createTestCertificates } from "./certificates.ts";
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
    await issueLeaf(dir, "leaf", commonName, [
      "extendedKeyUsage=serverAuth",
      `subjectAltName=DNS:${commonName},IP:127.0.0.1,IP:::1`,
    ]);
    await issueLeaf(dir, "client", "client", ["extendedKeyUsage=clientAuth"]);
    const read = (name: string) => Deno.readTextFile(join(dir, name));
    return {
      dir,
      caCert: await read("ca.crt"),
      caCertFile: join(dir, "ca.crt"),
      cert: await read("leaf.crt"),
      certFile: join(dir, "leaf.crt"),
      key: await read("leaf.key"),
      keyFile: join(dir, "leaf.key"),
      clientCert: await read("client.crt"),
      clientKey: await read("client.key"),
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}
