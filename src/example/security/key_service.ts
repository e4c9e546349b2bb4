/**
 * KeyService: trusted keys, key managers and the JWT signing key. Every change is a command that carries the
 * signed request (its `Authorization`) into its event. Whether a key is trusted is read from the verified model,
 * never from the key's own event stream.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import { type CommandOf, type Metadata, sendToAggregate } from "../../dendrite/mod.ts";
import { importPrivateKey, keyIdOf, type SecurityLogger } from "../../dendrite/security/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import {
  type AddKeyManagerRequest,
  type AddTrustedKeyRequest,
  KeyService,
  type PublicKey,
  PublicKeySchema,
  type RemoveKeyManagerRequest,
  type RemoveTrustedKeyRequest,
  type UploadSigningKeyRequest,
} from "../../gen/dendrite/security/v1/keys_pb.ts";
import { KeyAggregate, SecurityDomainErrors } from "./aggregates.ts";
import type { SecurityCore } from "./core.ts";
import type { KeyEntry, SecurityModel } from "./model.ts";
import { change, invalid, type ServiceOptions, signedChange } from "./service_support.ts";

function publicKey(entry: KeyEntry): PublicKey {
  return create(PublicKeySchema, { keyId: entry.keyId, name: entry.name, publicKey: entry.publicKeyRaw });
}

function nameProblem(name: string): string | undefined {
  return name.length >= 1 && name.length <= 100 && !/\p{Cc}/u.test(name)
    ? undefined
    : "A key name has 1 to 100 characters and no control characters";
}

async function rawKeyId(raw: Uint8Array): Promise<string> {
  if (raw.length !== 32) throw new ConnectError("An Ed25519 public key has 32 bytes", Code.InvalidArgument);
  return await keyIdOf(raw);
}

function notFound(message: string): ConnectError {
  return new ConnectError(`${message} (${SecurityDomainErrors.NOT_FOUND})`, Code.NotFound);
}

/** Registers KeyService. */
export function registerKeyService(router: ConnectRouter, core: SecurityCore, options: ServiceOptions): void {
  router.service(KeyService, new KeyApi(core), options);
}

/** KeyService on the security domain: each RPC a method (connect-es binds them to the instance). */
class KeyApi implements ServiceImpl<typeof KeyService> {
  readonly #core: SecurityCore;
  readonly #model: SecurityModel;
  readonly #logger: SecurityLogger;

  constructor(core: SecurityCore) {
    this.#core = core;
    this.#model = core.model;
    this.#logger = core.logger;
  }

  async addTrustedKey(request: AddTrustedKeyRequest, context: HandlerContext): Promise<{ keyId: string }> {
    invalid(nameProblem(request.name));
    const keyId = await rawKeyId(request.publicKey);
    const { metadata, authorization } = signedChange(context, request);
    if (this.#model.trustedKeys.has(keyId)) return { keyId };
    const { name, publicKey } = request;
    await this.#send(
      create(domain.RegisterTrustedKeyCommandSchema, { keyId, name, publicKey, authorization }),
      metadata,
    );
    this.#logger.info(`Trusted key ${keyId} (${JSON.stringify(name)}) added by ${metadata.subject}`);
    return { keyId };
  }

  async removeTrustedKey(
    request: RemoveTrustedKeyRequest,
    context: HandlerContext,
  ): Promise<Record<string, never>> {
    const { metadata, authorization } = signedChange(context, request);
    if (!this.#model.trustedKeys.has(request.keyId)) throw notFound(`Key "${request.keyId}" is not trusted`);
    await this.#send(
      create(domain.RemoveTrustedKeyCommandSchema, { keyId: request.keyId, authorization }),
      metadata,
    );
    this.#logger.info(`Trusted key ${request.keyId} removed by ${metadata.subject}`);
    return {};
  }

  listTrustedKeys(): { keys: PublicKey[] } {
    return { keys: [...this.#model.trustedKeys.values()].map(publicKey) };
  }

  async addKeyManager(request: AddKeyManagerRequest, context: HandlerContext): Promise<{ keyId: string }> {
    invalid(nameProblem(request.name));
    const keyId = await rawKeyId(request.publicKey);
    const { metadata, authorization } = signedChange(context, request);
    if (this.#model.keyManager(keyId)) return { keyId };
    const { name, publicKey } = request;
    await this.#send(
      create(domain.RegisterKeyManagerCommandSchema, { keyId, name, publicKey, authorization }),
      metadata,
    );
    this.#logger.info(`Key manager ${keyId} (${JSON.stringify(name)}) added by ${metadata.subject}`);
    return { keyId };
  }

  async removeKeyManager(
    request: RemoveKeyManagerRequest,
    context: HandlerContext,
  ): Promise<Record<string, never>> {
    if (request.keyId === this.#model.root.keyId) {
      throw new ConnectError("The compiled-in root key manager cannot be removed", Code.FailedPrecondition);
    }
    const { metadata, authorization } = signedChange(context, request);
    if (!this.#model.keyManagers.has(request.keyId)) {
      throw notFound(`Key "${request.keyId}" is not a key manager`);
    }
    await this.#send(
      create(domain.RemoveKeyManagerCommandSchema, { keyId: request.keyId, authorization }),
      metadata,
    );
    this.#logger.info(`Key manager ${request.keyId} removed by ${metadata.subject}`);
    return {};
  }

  listKeyManagers(): { keys: PublicKey[] } {
    return { keys: [this.#model.root, ...this.#model.keyManagers.values()].map(publicKey) };
  }

  uploadSigningKey(request: UploadSigningKeyRequest, context: HandlerContext): Promise<{ keyId: string }> {
    invalid(nameProblem(request.name));
    const { metadata } = signedChange(context, request);
    return importPrivateKey(request.privateKey).catch(() => {
      throw new ConnectError(
        "The signing key is not an Ed25519 private key in PKCS#8",
        Code.InvalidArgument,
      );
    }).then((pair) => {
      if (!this.#model.trustedKeys.has(pair.keyId)) {
        throw new ConnectError(
          `Key "${pair.keyId}" is not trusted: add its public half with AddTrustedKey first`,
          Code.FailedPrecondition,
        );
      }
      this.#core.setSigningKey(pair);
      this.#logger.info(
        `JWT signing key ${pair.keyId} (${JSON.stringify(request.name)}) uploaded by ${metadata.subject}`,
      );
      return { keyId: pair.keyId };
    });
  }

  #send(command: CommandOf<typeof KeyAggregate>, metadata: Metadata): Promise<void> {
    const core = this.#core;
    return change(core, () => sendToAggregate(core.commandBus, KeyAggregate, command, { metadata }));
  }
}
