/**
 * Starts the program's API role (`startApi`: security provisioned, the security services and the greeter API
 * behind the auth interceptor) on the embedded application, on a free port in a temporary data directory. The
 * root key module lives in that directory too (never in src/ or ./data), and the admin password is a random one
 * handed in as `DENDRITE_ADMIN_PASSWORD`.
 *
 * @module
 */
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { join } from "node:path";
import type { Synchronous } from "../../src/dendrite/sqlite/mod.ts";
import {
  type Ed25519KeyPair,
  fromPem,
  importPrivateKey,
  toBase64Url,
} from "../../src/dendrite/security/mod.ts";
import { type ApiPorts, type RunningApi, startApi } from "../../src/example/api_role.ts";
import { ADMIN_PASSWORD_ENV, SecureFiles } from "../../src/example/security/mod.ts";
import { createEmbedded, type Embedded } from "../../src/example/wiring.ts";
import { AuthService } from "../../src/gen/dendrite/security/v1/auth_pb.ts";
import { buildUi, createLogger, type Logger, type RunningServer } from "../../src/server/mod.ts";
import { FAST_SCRYPT } from "../security/fixture.ts";

/** A running test instance. */
export interface TestApp {
  readonly url: string;
  readonly port: number;
  /** `127.0.0.1:<gRPC port>` for grpc-js. */
  readonly address: string;
  /** The gRPC port (gRPC, reflection; node:http2 with the connection limits). */
  readonly grpcPort: number;
  readonly dataDir: string;
  readonly app: Embedded;
  readonly api: RunningApi;
  readonly server: RunningServer;
  /** The password of user `admin` (from `DENDRITE_ADMIN_PASSWORD`, as the test set it). */
  readonly adminPassword: string;
  /** Every line the server logged (debug and up), unless a logger was given. */
  readonly logs: string[];
  /** Lines the server logged at warn and error. */
  readonly problems: string[];
  /** A Connect (HTTP/1.1, binary) transport to the server. */
  readonly transport: Transport;
  /** Logs in over Connect and returns the token. */
  login(identifier: string, password: string): Promise<string>;
  /** A token of user `admin` (role `admin`). */
  adminToken(): Promise<string>;
  /** The root key manager (from the temporary data directory), for signed key-management calls. */
  rootKeyManager(): Promise<Ed25519KeyPair>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Serve the bundled UI (default false: API tests do not need esbuild). */
  readonly ui?: boolean;
  readonly logger?: Logger;
  readonly shutdownDeadlineMs?: number;
  /** SQLite durability (default FULL). */
  readonly synchronous?: Synchronous;
  /** Runs the projection on a thread of its own, as the program does (default false). */
  readonly projectionThread?: boolean;
  /** The admin password (default: a random one). */
  readonly adminPassword?: string;
  /** Changes the ports the API gets, e.g. to spy on the query bus. */
  readonly ports?: (ports: ApiPorts) => ApiPorts;
}

/** `authorization: Bearer <token>` as call options of a connect-es client. */
export function bearer(token: string): { headers: { authorization: string } } {
  return { headers: { authorization: `Bearer ${token}` } };
}

/**
 * Starts an instance; close it in a `finally`.
 *
 * @example
 * ```ts ignore
 * const t = await startTestApp();
 * try { … } finally { await t.close(); }
 * ```
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-api-" });
  const logs: string[] = [];
  const problems: string[] = [];
  const logger = options.logger ?? createLogger("debug", (level, line) => {
    logs.push(line);
    if (level === "warn" || level === "error") problems.push(line);
  });
  const adminPassword = options.adminPassword ??
    toBase64Url(crypto.getRandomValues(new Uint8Array(15)));
  const env: Record<string, string> = { [ADMIN_PASSWORD_ENV]: adminPassword };
  let app: Embedded | undefined;
  let api: RunningApi;
  try {
    const ui = options.ui ? await buildUi() : undefined;
    app = await createEmbedded({ dataDir }, {
      synchronous: options.synchronous,
      projectionThread: options.projectionThread,
    });
    api = await startApi(
      options.ports ? options.ports(app.ports) : app.ports,
      { port: 0, dataDir, tls: undefined, rootKeyModule: join(dataDir, "root_key.generated.ts") },
      logger,
      {
        ui,
        hostname: "127.0.0.1",
        shutdownDeadlineMs: options.shutdownDeadlineMs,
        env: (name) => env[name],
        scrypt: FAST_SCRYPT,
      },
    );
  } catch (error) {
    await app?.close();
    await Deno.remove(dataDir, { recursive: true });
    throw error;
  }
  const url = `http://127.0.0.1:${api.server.port}`;
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true });
  const auth = createClient(AuthService, transport);
  const login = async (identifier: string, password: string) =>
    (await auth.login({ identifier, password })).token;
  const embedded = app;
  return {
    url,
    port: api.server.port,
    address: `127.0.0.1:${api.server.grpcPort}`,
    grpcPort: api.server.grpcPort,
    dataDir,
    app: embedded,
    api,
    server: api.server,
    adminPassword,
    logs,
    problems,
    transport,
    login,
    adminToken: () => login("admin", adminPassword),
    async rootKeyManager() {
      const pem = await Deno.readTextFile(join(dataDir, "secure", SecureFiles.rootPrivateKey));
      return await importPrivateKey(fromPem(pem));
    },
    async close() {
      try {
        await api.stop();
      } finally {
        await embedded.close();
        await Deno.remove(dataDir, { recursive: true });
      }
    },
  };
}
