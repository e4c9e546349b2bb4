/**
 * Embedded provisioning: what `deno task start` does so the quick start needs no manual step. It makes sure a
 * root key manager exists (in development: the data folder's own, created in a new folder, with the module
 * following it; in release mode, `DENDRITE_RELEASE=1`: only the compiled-in one), starts the security domain,
 * then — as the root key manager, through the same signed API any key manager uses, so these events verify at
 * every rebuild like any other — trusts and uploads the JWT signing key (generated once, kept in
 * `<dataDir>/secure/jwt-signing-key.pem`, 0600) and creates user
 * `admin` with the password from `DENDRITE_ADMIN_PASSWORD`, or a generated one written to
 * `<dataDir>/secure/admin-password` (0600). The log says where, never what.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { createRouterTransport, type Transport } from "@connectrpc/connect";
import { join } from "node:path";
import {
  consoleSecurityLogger,
  type Ed25519KeyPair,
  exportPrivateKey,
  fromPem,
  generateEd25519,
  importPrivateKey,
  type SecurityLogger,
  toBase64Url,
  toPem,
  verifyPassword,
} from "../../dendrite/security/mod.ts";
import { CredentialService } from "../../gen/dendrite/security/v1/credentials_pb.ts";
import {
  AddTrustedKeyRequestSchema,
  KeyService,
  UploadSigningKeyRequestSchema,
} from "../../gen/dendrite/security/v1/keys_pb.ts";
import { credentialRequest, signedCall } from "./client.ts";
import { loginLimitsFromEnv } from "./login_limits.ts";
import { ensureRootKey, SecureFiles, writeSecret } from "./root_key.ts";
import { type SecurityOptions, type SecurityPorts, type SecurityRuntime, startSecurity } from "./runtime.ts";
import { registerSecurityServices } from "./services.ts";

/** The identifier and role of the embedded administrator. */
export const ADMIN = { identifier: "admin", role: "admin" } as const;

/** The environment variable with the admin password. */
export const ADMIN_PASSWORD_ENV = "DENDRITE_ADMIN_PASSWORD";

/** The environment variable that turns on release mode (`1` or `true`; a compiled binary is always in it). */
export const RELEASE_ENV = "DENDRITE_RELEASE";

/** Release mode: `DENDRITE_RELEASE` is `1`/`true`, or this is a compiled binary (see `ensureRootKey`). */
export function isRelease(env: (name: string) => string | undefined): boolean {
  return Deno.build.standalone || /^(1|true)$/i.test(env(RELEASE_ENV)?.trim() ?? "");
}

export interface ProvisionOptions extends SecurityPorts, Omit<SecurityOptions, "root"> {
  /** The data directory (`data` in the quick start); keys live in `<dataDir>/secure`. */
  readonly dataDir: string;
  /** The root key module (default: the compiled-in one next to this file). Tests use a temporary one. */
  readonly rootKeyModule?: string;
  /** Reads the environment (default `Deno.env.get`). */
  readonly env?: (name: string) => string | undefined;
}

/** What provisioning did. */
export interface Provisioned {
  readonly security: SecurityRuntime;
  /** The JWT signing key's id (`kid`). */
  readonly signingKeyId: string;
  /** Where the generated admin password is, when one was generated (now or at an earlier start). */
  readonly adminPasswordFile?: string;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function signingKey(secureDir: string, logger: SecurityLogger): Promise<Ed25519KeyPair> {
  const path = join(secureDir, SecureFiles.jwtSigningKey);
  const pem = await readIfExists(path);
  if (pem !== undefined) return await importPrivateKey(fromPem(pem));
  const pair = await generateEd25519();
  await writeSecret(path, toPem(await exportPrivateKey(pair.privateKey)));
  logger.info(`Created the JWT signing key ${pair.keyId} at "${path}" (0600)`);
  return pair;
}

/**
 * Starts the security domain in embedded mode and provisions it (see the module description).
 *
 * @example
 * ```ts ignore
 * const { security } = await provisionEmbedded({ dataDir: "data", commandBus, eventStore, registry });
 * const auth = security.interceptor(GREETER_POLICY);
 * ```
 */
export async function provisionEmbedded(options: ProvisionOptions): Promise<Provisioned> {
  const logger = options.logger ?? consoleSecurityLogger;
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const secureDir = join(options.dataDir, "secure");
  const { root, manager } = await ensureRootKey({
    secureDir,
    modulePath: options.rootKeyModule,
    logger,
    release: isRelease(env),
  });
  const loginDefaults = loginLimitsFromEnv(env);
  const security = await startSecurity(options, { ...options, root, logger, loginDefaults });
  try {
    const transport = createRouterTransport((router) => registerSecurityServices(router, security), {
      router: { interceptors: [security.interceptor()] },
    });
    const key = await signingKey(secureDir, logger);
    if (!security.model.trustedKeys.has(key.keyId)) {
      await signedCall(
        transport,
        manager,
        KeyService.method.addTrustedKey,
        create(AddTrustedKeyRequestSchema, { name: "jwt-signing", publicKey: key.publicKeyRaw }),
      );
    }
    await signedCall(
      transport,
      manager,
      KeyService.method.uploadSigningKey,
      create(UploadSigningKeyRequestSchema, {
        name: "jwt-signing",
        privateKey: await exportPrivateKey(key.privateKey),
      }),
    );
    const adminPasswordFile = await provisionAdmin(security, transport, manager, secureDir, env, logger);
    return { security, signingKeyId: key.keyId, adminPasswordFile };
  } catch (error) {
    await security.stop();
    throw error;
  }
}

async function provisionAdmin(
  security: SecurityRuntime,
  transport: Transport,
  manager: Ed25519KeyPair,
  secureDir: string,
  env: (name: string) => string | undefined,
  logger: SecurityLogger,
): Promise<string | undefined> {
  const passwordFile = join(secureDir, SecureFiles.adminPassword);
  const fromEnv = env(ADMIN_PASSWORD_ENV) || undefined;
  const existing = security.model.credentials.get(ADMIN.identifier);
  const register = async (password: string) =>
    await signedCall(
      transport,
      manager,
      CredentialService.method.registerCredential,
      await credentialRequest(ADMIN.identifier, password, [ADMIN.role], security.scrypt),
    );
  if (fromEnv !== undefined) {
    if (!existing || !(await verifyPassword(fromEnv, existing.passwordHash))) {
      await register(fromEnv);
      logger.info(`User "${ADMIN.identifier}" has the password from ${ADMIN_PASSWORD_ENV}`);
    }
    return undefined;
  }
  if (existing) {
    return (await readIfExists(passwordFile)) === undefined ? undefined : passwordFile;
  }
  const password = toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
  await writeSecret(passwordFile, password + "\n");
  await register(password);
  logger.info(`Created user "${ADMIN.identifier}"; its generated password is in "${passwordFile}" (0600)`);
  return passwordFile;
}
