/**
 * A security test bed: an in-memory event store and buses, the security domain provisioned in a temporary data
 * directory (with its own root key module there, never in src/ or ./data), the greeter's command side, and the
 * security services plus a small greeter API behind the auth interceptor on two listeners on port 0: HTTP/2
 * cleartext (gRPC) and HTTP/1.1 (Connect, for checking HTTP statuses with fetch).
 *
 * @module
 */
import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import {
  type Client,
  type ConnectRouter,
  createClient,
  createContextValues,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  InMemoryEventStore,
  LocalCommandBus,
  LocalQueryBus,
  MessageRegistry,
  sendToAggregate,
} from "../../src/dendrite/mod.ts";
import {
  claimsKey,
  type Ed25519KeyPair,
  fromPem,
  importPrivateKey,
  metadataFromClaims,
  peerAddressKey,
  type ScryptParams,
  type SecurityLogger,
} from "../../src/dendrite/security/mod.ts";
import { Greeter, startGreeter } from "../../src/example/greeter/mod.ts";
import {
  GREETER_POLICY,
  type LoginLimitOptions,
  provisionEmbedded,
  registerSecurityServices,
  SecureFiles,
  type SecurityRuntime,
  signedCall,
} from "../../src/example/security/mod.ts";
import { AuthService, ChallengeService } from "../../src/gen/dendrite/security/v1/auth_pb.ts";
import { ConfigService } from "../../src/gen/dendrite/security/v1/config_pb.ts";
import { CredentialService } from "../../src/gen/dendrite/security/v1/credentials_pb.ts";
import { KeyService } from "../../src/gen/dendrite/security/v1/keys_pb.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";

/** scrypt parameters that keep tests fast (production uses the defaults). */
export const FAST_SCRYPT = { logN: 10, r: 8, p: 1 } as const;

/** A greeter API for tests: Greet, Record and Stop through the command bus with the caller's claims. */
export function testGreeterRoutes(router: ConnectRouter, commandBus: LocalCommandBus): void {
  router.service(GreeterService, {
    async greet(request, context) {
      const greeting = await sendToAggregate(
        commandBus,
        Greeter,
        create(domain.GreetCommandSchema, { greeterId: "main", message: request.message }),
        { metadata: metadataFromClaims(context.values.get(claimsKey)) },
      );
      return { greetingId: greeting && "id" in greeting ? String(greeting.id) : "" };
    },
    async record(_request, context) {
      await sendToAggregate(commandBus, Greeter, create(domain.RecordCommandSchema, { greeterId: "main" }), {
        metadata: metadataFromClaims(context.values.get(claimsKey)),
      });
      return { recording: true };
    },
    async stop(_request, context) {
      await sendToAggregate(commandBus, Greeter, create(domain.StopCommandSchema, { greeterId: "main" }), {
        metadata: metadataFromClaims(context.values.get(claimsKey)),
      });
      return { recording: false };
    },
  });
}

export interface FixtureOptions {
  readonly dir?: string;
  readonly eventStore?: InMemoryEventStore;
  readonly env?: Readonly<Record<string, string>>;
  /** Install the auth interceptor (default true); false gives the same server without auth (benchmarks). */
  readonly auth?: boolean;
  /** Login limits (the fixture's clock drives their back-off). */
  readonly login?: LoginLimitOptions;
  /** scrypt parameters (default {@link FAST_SCRYPT}; benchmarks use the production ones). */
  readonly scrypt?: ScryptParams;
  /** Stop the security clock at the start time; only `advance` moves it (default false: it follows Date.now). */
  readonly freezeClock?: boolean;
}

export interface SecurityFixture {
  readonly dir: string;
  readonly eventStore: InMemoryEventStore;
  readonly security: SecurityRuntime;
  readonly logs: string[];
  /** The root key manager (from the temporary data/secure). */
  readonly manager: Ed25519KeyPair;
  readonly adminPassword: string | undefined;
  readonly grpc: Transport;
  /** The HTTP/2 (gRPC) listener's URL. */
  readonly grpcUrl: string;
  readonly connectUrl: string;
  readonly greeter: Client<typeof GreeterService>;
  readonly auth: Client<typeof AuthService>;
  readonly keys: Client<typeof KeyService>;
  readonly credentials: Client<typeof CredentialService>;
  readonly config: Client<typeof ConfigService>;
  readonly challenges: Client<typeof ChallengeService>;
  /** Moves the security clock (challenges, tokens) forward. */
  advance(ms: number): void;
  signed<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageShape<I>,
    key?: Pick<Ed25519KeyPair, "keyId" | "privateKey">,
  ): Promise<MessageShape<O>>;
  login(identifier: string, password: string): Promise<string>;
  /** Stops servers and the domain; removes the directory unless `keepDir`. */
  close(keepDir?: boolean): Promise<void>;
}

/** Header with a bearer token. */
export function bearer(token: string): { headers: { authorization: string } } {
  return { headers: { authorization: `Bearer ${token}` } };
}

function listen(server: http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server | http2.Http2Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Starts the test bed. */
export async function startSecurityFixture(options: FixtureOptions = {}): Promise<SecurityFixture> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "dendrite-security-" });
  const logs: string[] = [];
  const logger: SecurityLogger = {
    info: (m) => logs.push(`INFO ${m}`),
    warn: (m, fields) => logs.push(`WARN ${m}${fields ? ` ${JSON.stringify(fields)}` : ""}`),
  };
  const eventStore = options.eventStore ?? new InMemoryEventStore();
  const commandBus = new LocalCommandBus();
  const queryBus = new LocalQueryBus();
  const registry = new MessageRegistry();
  let offset = 0;
  const frozen = options.freezeClock ? Date.now() : undefined;
  const env = options.env ?? {};
  const { security } = await provisionEmbedded({
    dataDir: dir,
    commandBus,
    eventStore,
    registry,
    rootKeyModule: join(dir, "root_key.generated.ts"),
    env: (name) => env[name],
    scrypt: options.scrypt ?? FAST_SCRYPT,
    login: options.login,
    logger,
    clock: () => (frozen ?? Date.now()) + offset,
  });
  const greeter = await startGreeter({ commandBus, queryBus, eventStore, registry }, {
    command: true,
    projection: false,
  });
  const manager = await importPrivateKey(
    fromPem(await Deno.readTextFile(join(dir, "secure", SecureFiles.rootPrivateKey))),
  );
  const adminPassword = await Deno.readTextFile(join(dir, "secure", SecureFiles.adminPassword))
    .then((text) => text.trim(), () => undefined);
  const interceptors: Interceptor[] = options.auth === false ? [] : [security.interceptor(GREETER_POLICY)];
  const routes = (router: ConnectRouter) => {
    registerSecurityServices(router, security);
    testGreeterRoutes(router, commandBus);
  };
  const handler = connectNodeAdapter({
    routes,
    interceptors,
    contextValues: (request) => createContextValues().set(peerAddressKey, request.socket.remoteAddress ?? ""),
  });
  const h2 = http2.createServer(handler);
  const h1 = http.createServer(handler);
  const [h2Port, h1Port] = [await listen(h2), await listen(h1)];
  const baseUrl = `http://127.0.0.1:${h2Port}`;
  const sessions = new Http2SessionManager(baseUrl);
  const grpc = createGrpcTransport({ baseUrl, sessionManager: sessions });
  const auth = createClient(AuthService, grpc);
  return {
    dir,
    eventStore,
    security,
    logs,
    manager,
    adminPassword,
    grpc,
    grpcUrl: baseUrl,
    connectUrl: `http://127.0.0.1:${h1Port}`,
    greeter: createClient(GreeterService, grpc),
    auth,
    keys: createClient(KeyService, grpc),
    credentials: createClient(CredentialService, grpc),
    config: createClient(ConfigService, grpc),
    challenges: createClient(ChallengeService, grpc),
    advance: (ms) => offset += ms,
    signed: (method, request, key = manager) => signedCall(grpc, key, method, request),
    login: async (identifier, password) => (await auth.login({ identifier, password })).token,
    async close(keepDir = false) {
      sessions.abort();
      h1.closeAllConnections();
      await Promise.all([close(h2), close(h1)]);
      await greeter.stop();
      await security.stop();
      if (!keepDir) await Deno.remove(dir, { recursive: true });
    },
  };
}
