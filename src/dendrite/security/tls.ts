/**
 * TLS material from files, for `node:https`/`node:http2` servers and clients.
 *
 * @module
 */

/** Where the PEM files are. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle to trust (clients; servers that verify client certificates). */
  readonly caFile?: string;
}

/** PEM contents, in the shape `createSecureServer` and `connect` accept. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

/**
 * Reads the certificate chain, private key and optional CA bundle; a missing or non-PEM file is an error that
 * names the file (never its content).
 *
 * @example
 * ```ts ignore
 * const tls = await loadTls({ certFile: "data/tls/server.crt", keyFile: "data/tls/server.key" });
 * http2.createSecureServer({ ...tls, allowHTTP1: true }, handler);
 * ```
 */
export async function loadTls(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (path: string, marker: RegExp) => {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (cause) {
      throw new Error(`Cannot read TLS file "${path}"`, { cause });
    }
    if (!marker.test(text)) throw new Error(`TLS file "${path}" is not in the expected PEM format`);
    return text;
  };
  const certificate = /-----BEGIN CERTIFICATE-----/;
  return {
    cert: await read(files.certFile, certificate),
    key: await read(files.keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
    ca: files.caFile ? await read(files.caFile, certificate) : undefined,
  };
}

/**
 * TLS files from the environment: `<prefix>_CERT_FILE`, `<prefix>_KEY_FILE`, optional `<prefix>_CA_FILE`.
 * Undefined when neither is set; an error when only one is.
 */
export function tlsFilesFromEnv(
  prefix: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): TlsFiles | undefined {
  const certFile = env(`${prefix}_CERT_FILE`);
  const keyFile = env(`${prefix}_KEY_FILE`);
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new Error(`Set both ${prefix}_CERT_FILE and ${prefix}_KEY_FILE, or neither`);
  }
  return { certFile, keyFile, caFile: env(`${prefix}_CA_FILE`) || undefined };
}
