/**
 * KeyService: trusted keys, key managers and the JWT signing key. Every change is a command that carries the
 * signed request (its `Authorization`) into its event. Whether a key is trusted is read from the verified model,
 * never from the key's own event stream.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { type CommandOf, type Metadata, sendToAggregate } from "../../dendrite/mod.ts";
import { importPrivateKey, keyIdOf } from "../../dendrite/security/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { KeyService, PublicKeySchema } from "../../gen/dendrite/security/v1/keys_pb.ts";
import { KeyAggregate, SecurityDomainErrors } from "./aggregates.ts";
import type { SecurityCore } from "./core.ts";
import type { KeyEntry } from "./model.ts";
import { change, invalid, type ServiceOptions, signedChange } from "./service_support.ts";

function publicKey(entry: KeyEntry) {
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
  const { model, logger } = core;
  const send = (command: CommandOf<typeof KeyAggregate>, metadata: Metadata) =>
    change(core, () => sendToAggregate(core.commandBus, KeyAggregate, command, { metadata }));

  router.service(KeyService, {
    async addTrustedKey(request, context) {
      invalid(nameProblem(request.name));
      const keyId = await rawKeyId(request.publicKey);
      const { metadata, authorization } = signedChange(context, request);
      if (model.trustedKeys.has(keyId)) return { keyId };
      const { name, publicKey } = request;
      await send(
        create(domain.RegisterTrustedKeyCommandSchema, { keyId, name, publicKey, authorization }),
        metadata,
      );
      logger.info(`Trusted key ${keyId} (${JSON.stringify(name)}) added by ${metadata.subject}`);
      return { keyId };
    },
    async removeTrustedKey(request, context) {
      const { metadata, authorization } = signedChange(context, request);
      if (!model.trustedKeys.has(request.keyId)) throw notFound(`Key "${request.keyId}" is not trusted`);
      await send(
        create(domain.RemoveTrustedKeyCommandSchema, { keyId: request.keyId, authorization }),
        metadata,
      );
      logger.info(`Trusted key ${request.keyId} removed by ${metadata.subject}`);
      return {};
    },
    listTrustedKeys() {
      return { keys: [...model.trustedKeys.values()].map(publicKey) };
    },
    async addKeyManager(request, context) {
      invalid(nameProblem(request.name));
      const keyId = await rawKeyId(request.publicKey);
      const { metadata, authorization } = signedChange(context, request);
      if (model.keyManager(keyId)) return { keyId };
      const { name, publicKey } = request;
      await send(
        create(domain.RegisterKeyManagerCommandSchema, { keyId, name, publicKey, authorization }),
        metadata,
      );
      logger.info(`Key manager ${keyId} (${JSON.stringify(name)}) added by ${metadata.subject}`);
      return { keyId };
    },
    async removeKeyManager(request, context) {
      if (request.keyId === model.root.keyId) {
        throw new ConnectError("The compiled-in root key manager cannot be removed", Code.FailedPrecondition);
      }
      const { metadata, authorization } = signedChange(context, request);
      if (!model.keyManagers.has(request.keyId)) {
        throw notFound(`Key "${request.keyId}" is not a key manager`);
      }
      await send(
        create(domain.RemoveKeyManagerCommandSchema, { keyId: request.keyId, authorization }),
        metadata,
      );
      logger.info(`Key manager ${request.keyId} removed by ${metadata.subject}`);
      return {};
    },
    listKeyManagers() {
      return { keys: [model.root, ...model.keyManagers.values()].map(publicKey) };
    },
    uploadSigningKey(request, context) {
      invalid(nameProblem(request.name));
      const { metadata } = signedChange(context, request);
      return importPrivateKey(request.privateKey).catch(() => {
        throw new ConnectError(
          "The signing key is not an Ed25519 private key in PKCS#8",
          Code.InvalidArgument,
        );
      }).then((pair) => {
        if (!model.trustedKeys.has(pair.keyId)) {
          throw new ConnectError(
            `Key "${pair.keyId}" is not trusted: add its public half with AddTrustedKey first`,
            Code.FailedPrecondition,
          );
        }
        core.setSigningKey(pair);
        logger.info(
          `JWT signing key ${pair.keyId} (${JSON.stringify(request.name)}) uploaded by ${metadata.subject}`,
        );
        return { keyId: pair.keyId };
      });
    },
  }, options);
}
