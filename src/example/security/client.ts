/**
 * A key manager's client for the signed security API: fetches a challenge, signs the request over it and sends
 * it. Used by embedded provisioning and by tests; any transport works (in-process, gRPC, Connect).
 *
 * @module
 */
import { create, type DescMessage, type DescMethodUnary, type MessageShape } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  DEFAULT_SCRYPT,
  type Ed25519KeyPair,
  hashPassword,
  type ScryptParams,
  signRequest,
} from "../../dendrite/security/mod.ts";
import { ChallengeService } from "../../gen/dendrite/security/v1/auth_pb.ts";
import {
  type RegisterCredentialRequest,
  RegisterCredentialRequestSchema,
} from "../../gen/dendrite/security/v1/credentials_pb.ts";

/** The shortest password {@link credentialRequest} accepts. */
export const MIN_PASSWORD_LENGTH = 8;
/** The longest password {@link credentialRequest} accepts. */
export const MAX_CLIENT_PASSWORD_LENGTH = 1_024;

/**
 * A RegisterCredential request: the password is hashed here (scrypt), so it never reaches the server and the
 * signed request can be kept in the event. `scrypt` must cost at least the server's parameters.
 *
 * @example
 * ```ts ignore
 * await signedCall(transport, manager, CredentialService.method.registerCredential,
 *   await credentialRequest("bob", "a long password", ["viewer"]));
 * ```
 */
export async function credentialRequest(
  identifier: string,
  password: string,
  roles: readonly string[] = [],
  scrypt: ScryptParams = DEFAULT_SCRYPT,
): Promise<RegisterCredentialRequest> {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_CLIENT_PASSWORD_LENGTH) {
    throw new RangeError(
      `A password has ${MIN_PASSWORD_LENGTH} to ${MAX_CLIENT_PASSWORD_LENGTH} characters`,
    );
  }
  const passwordHash = await hashPassword(password, scrypt);
  return create(RegisterCredentialRequestSchema, { identifier, passwordHash, roles: [...roles] });
}

/**
 * Sends one signed request.
 *
 * @example
 * ```ts ignore
 * await signedCall(transport, manager, ConfigService.method.setProperty,
 *   create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "600" }));
 * ```
 */
export async function signedCall<I extends DescMessage, O extends DescMessage>(
  transport: Transport,
  manager: Pick<Ed25519KeyPair, "keyId" | "privateKey">,
  method: DescMethodUnary<I, O>,
  request: MessageShape<I>,
): Promise<MessageShape<O>> {
  const challenges: Client<typeof ChallengeService> = createClient(ChallengeService, transport);
  const { nonce } = await challenges.getChallenge({});
  await signRequest(method.input, request, `${method.parent.typeName}/${method.name}`, nonce, manager);
  return await transport.unary(method, undefined, undefined, undefined, request, undefined).then((r) =>
    r.message
  );
}
