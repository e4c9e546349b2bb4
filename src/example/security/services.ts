/**
 * The security API (connect-es service implementations): Login, GetChallenge, key management, credentials,
 * configuration and the signing-key upload. Access control is NOT done here: the auth interceptor applies
 * `SECURITY_POLICY` (policy.ts) (signed changes, admin-only lists, public Login/GetChallenge) before a handler runs.
 * Every change goes through the command bus as a command, and the handler waits until the model has caught up,
 * so a change is visible to the next request.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import {
  type CommandOf,
  DomainError,
  type Metadata,
  MetadataKeys,
  sendToAggregate,
} from "../../dendrite/mod.ts";
import {
  hashPassword,
  importPrivateKey,
  keyIdOf,
  signerKey,
  verifyPassword,
} from "../../dendrite/security/mod.ts";
import { AuthService, ChallengeService } from "../../gen/dendrite/security/v1/auth_pb.ts";
import { ConfigService, PropertySchema } from "../../gen/dendrite/security/v1/config_pb.ts";
import { CredentialInfoSchema, CredentialService } from "../../gen/dendrite/security/v1/credentials_pb.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { KeyService, PublicKeySchema } from "../../gen/dendrite/security/v1/keys_pb.ts";
import {
  CredentialAggregate,
  identifierProblem,
  KeyAggregate,
  PropertyAggregate,
  rolesProblem,
} from "./aggregates.ts";
import type { KeyEntry } from "./model.ts";
import { JWT_LIFETIME_SECONDS, KNOWN_PROPERTIES } from "./properties.ts";
import type { SecurityCore } from "./runtime.ts";

/** The shortest password RegisterCredential accepts. */
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1_024;

const STATUS: Record<DomainError["kind"], Code> = {
  "failed-precondition": Code.FailedPrecondition,
  "invalid-argument": Code.InvalidArgument,
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  "permission-denied": Code.PermissionDenied,
  "unauthenticated": Code.Unauthenticated,
};

/** Maps a domain refusal onto a ConnectError (with its code in the message); other errors pass unchanged. */
export function toConnectError(error: unknown): unknown {
  if (error instanceof DomainError) {
    return new ConnectError(`${error.message} (${error.code})`, STATUS[error.kind]);
  }
  return error;
}

function signerMetadata(context: HandlerContext): Metadata {
  const signer = context.values.get(signerKey);
  if (!signer) throw new ConnectError("The request was not verified as signed", Code.Internal);
  return { [MetadataKeys.subject]: `key-manager:${signer.keyId}` };
}

function invalid(problem: string | undefined): void {
  if (problem) throw new ConnectError(problem, Code.InvalidArgument);
}

function publicKey(entry: KeyEntry) {
  return create(PublicKeySchema, { keyId: entry.keyId, name: entry.name, publicKey: entry.publicKeyRaw });
}

function nameProblem(name: string): string | undefined {
  return name.length >= 1 && name.length <= 100 && !/\p{Cc}/u.test(name)
    ? undefined
    : "A key name has 1 to 100 characters and no control characters";
}

/** Options of {@link registerSecurityServices}. */
export interface SecurityServicesOptions {
  /**
   * Interceptors for these services (outermost first), e.g. an error mapping and the auth interceptor. Given,
   * they replace the router's own interceptors for these services, as connect-es does for service options.
   */
  readonly interceptors?: readonly Interceptor[];
}

/**
 * Registers the security services on a connect router.
 *
 * @example
 * ```ts ignore
 * connectNodeAdapter({ routes: (router) => registerSecurityServices(router, core), interceptors: [auth] });
 * // or per service, next to services with interceptors of their own:
 * registerSecurityServices(router, core, { interceptors: [auth] });
 * ```
 */
export function registerSecurityServices(
  router: ConnectRouter,
  core: SecurityCore,
  options: SecurityServicesOptions = {},
): void {
  const { model, logger } = core;
  const serviceOptions = options.interceptors ? { interceptors: [...options.interceptors] } : undefined;

  /** Runs a command for the signer and waits until the model shows it. */
  async function change(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
      await core.caughtUp();
    } catch (error) {
      throw toConnectError(error);
    }
  }

  /** Sends a key-management command as the signing key manager and waits until the model shows it. */
  function keyCommand(command: CommandOf<typeof KeyAggregate>, metadata: Metadata): Promise<void> {
    return change(() => sendToAggregate(core.commandBus, KeyAggregate, command, { metadata }));
  }

  router.service(AuthService, {
    async login(request) {
      if (request.password.length > MAX_PASSWORD_LENGTH || request.identifier.length > 128) {
        throw new ConnectError("Invalid identifier or password", Code.Unauthenticated);
      }
      const issuer = core.issuer();
      if (!issuer) throw new ConnectError("No signing key has been uploaded yet", Code.Unavailable);
      const credential = model.credentials.get(request.identifier);
      // Unknown identifiers cost the same scrypt work as known ones.
      const matches = await verifyPassword(
        request.password,
        credential?.passwordHash ?? await core.dummyHash(),
      );
      if (!credential || !matches) {
        logger.warn(`Login refused for identifier ${JSON.stringify(request.identifier)}`);
        throw new ConnectError("Invalid identifier or password", Code.Unauthenticated);
      }
      const lifetimeSeconds = Number(model.property(JWT_LIFETIME_SECONDS));
      const { token, expiresAt } = await issuer.issue({
        subject: credential.identifier,
        roles: credential.roles,
        lifetimeSeconds,
      });
      logger.info(`Login of ${JSON.stringify(credential.identifier)} (token valid ${lifetimeSeconds} s)`);
      return { token, expiresAt: BigInt(expiresAt), roles: [...credential.roles] };
    },
  }, serviceOptions);

  router.service(ChallengeService, {
    getChallenge() {
      const { nonce, expiresAt } = core.challenges.issue();
      return { nonce, expiresAt: BigInt(expiresAt) };
    },
  }, serviceOptions);

  router.service(KeyService, {
    async addTrustedKey(request, context) {
      invalid(nameProblem(request.name));
      const keyId = await rawKeyId(request.publicKey);
      const metadata = signerMetadata(context);
      await keyCommand(
        create(domain.RegisterTrustedKeyCommandSchema, {
          keyId,
          name: request.name,
          publicKey: request.publicKey,
        }),
        metadata,
      );
      logger.info(`Trusted key ${keyId} (${JSON.stringify(request.name)}) added by ${metadata.subject}`);
      return { keyId };
    },
    async removeTrustedKey(request, context) {
      const metadata = signerMetadata(context);
      await keyCommand(create(domain.RemoveTrustedKeyCommandSchema, { keyId: request.keyId }), metadata);
      logger.info(`Trusted key ${request.keyId} removed by ${metadata.subject}`);
      return {};
    },
    listTrustedKeys() {
      return { keys: [...model.trustedKeys.values()].map(publicKey) };
    },
    async addKeyManager(request, context) {
      invalid(nameProblem(request.name));
      const keyId = await rawKeyId(request.publicKey);
      const metadata = signerMetadata(context);
      await keyCommand(
        create(domain.RegisterKeyManagerCommandSchema, {
          keyId,
          name: request.name,
          publicKey: request.publicKey,
        }),
        metadata,
      );
      logger.info(`Key manager ${keyId} (${JSON.stringify(request.name)}) added by ${metadata.subject}`);
      return { keyId };
    },
    async removeKeyManager(request, context) {
      if (request.keyId === model.root.keyId) {
        throw new ConnectError("The compiled-in root key manager cannot be removed", Code.FailedPrecondition);
      }
      const metadata = signerMetadata(context);
      await keyCommand(create(domain.RemoveKeyManagerCommandSchema, { keyId: request.keyId }), metadata);
      logger.info(`Key manager ${request.keyId} removed by ${metadata.subject}`);
      return {};
    },
    listKeyManagers() {
      return { keys: [model.root, ...model.keyManagers.values()].map(publicKey) };
    },
    async uploadSigningKey(request, context) {
      invalid(nameProblem(request.name));
      const metadata = signerMetadata(context);
      let pair;
      try {
        pair = await importPrivateKey(request.privateKey);
      } catch {
        throw new ConnectError(
          "The signing key is not an Ed25519 private key in PKCS#8",
          Code.InvalidArgument,
        );
      }
      if (!model.trustedKeys.has(pair.keyId)) {
        await keyCommand(
          create(domain.RegisterTrustedKeyCommandSchema, {
            keyId: pair.keyId,
            name: request.name,
            publicKey: pair.publicKeyRaw,
          }),
          metadata,
        );
      }
      core.setSigningKey(pair);
      logger.info(
        `JWT signing key ${pair.keyId} (${JSON.stringify(request.name)}) uploaded by ${metadata.subject}`,
      );
      return { keyId: pair.keyId };
    },
  }, serviceOptions);

  router.service(CredentialService, {
    async registerCredential(request, context) {
      invalid(identifierProblem(request.identifier) ?? rolesProblem(request.roles));
      if (request.password.length < MIN_PASSWORD_LENGTH || request.password.length > MAX_PASSWORD_LENGTH) {
        throw new ConnectError(
          `A password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
          Code.InvalidArgument,
        );
      }
      const metadata = signerMetadata(context);
      const passwordHash = await hashPassword(request.password, core.scrypt);
      await change(() =>
        sendToAggregate(
          core.commandBus,
          CredentialAggregate,
          create(domain.RegisterCredentialsCommandSchema, {
            identifier: request.identifier,
            passwordHash,
            roles: request.roles,
          }),
          { metadata },
        )
      );
      logger.info(
        `Credentials of ${JSON.stringify(request.identifier)} (roles: ${
          request.roles.join(", ") || "none"
        }) ` +
          `registered by ${metadata.subject}`,
      );
      return {};
    },
    async removeCredential(request, context) {
      const metadata = signerMetadata(context);
      await change(() =>
        sendToAggregate(
          core.commandBus,
          CredentialAggregate,
          create(domain.RemoveCredentialsCommandSchema, { identifier: request.identifier }),
          { metadata },
        )
      );
      logger.info(`Credentials of ${JSON.stringify(request.identifier)} removed by ${metadata.subject}`);
      return {};
    },
    listCredentials() {
      return {
        credentials: [...model.credentials.values()]
          .sort((a, b) => a.identifier.localeCompare(b.identifier))
          .map((c) => create(CredentialInfoSchema, { identifier: c.identifier, roles: [...c.roles] })),
      };
    },
  }, serviceOptions);

  const property = (name: string) =>
    create(PropertySchema, { name, value: model.property(name), default: !model.properties.has(name) });

  router.service(ConfigService, {
    async setProperty(request, context) {
      const metadata = signerMetadata(context);
      await change(() =>
        sendToAggregate(
          core.commandBus,
          PropertyAggregate,
          create(domain.ChangePropertyCommandSchema, { name: request.name, value: request.value }),
          { metadata },
        )
      );
      logger.info(`Property ${JSON.stringify(request.name)} changed by ${metadata.subject}`);
      return {};
    },
    getProperty(request) {
      return { property: property(request.name) };
    },
    listProperties() {
      const names = new Set([...Object.keys(KNOWN_PROPERTIES), ...model.properties.keys()]);
      return { properties: [...names].sort().map(property) };
    },
  }, serviceOptions);
}

async function rawKeyId(raw: Uint8Array): Promise<string> {
  if (raw.length !== 32) throw new ConnectError("An Ed25519 public key has 32 bytes", Code.InvalidArgument);
  return await keyIdOf(raw);
}
