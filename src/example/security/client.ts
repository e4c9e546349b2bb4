/**
 * A key manager's client for the signed security API: fetches a challenge, signs the request over it and sends
 * it. Used by embedded provisioning and by tests; any transport works (in-process, gRPC, Connect).
 *
 * @module
 */
import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { type Ed25519KeyPair, signRequest } from "../../dendrite/security/mod.ts";
import { ChallengeService } from "../../gen/dendrite/security/v1/auth_pb.ts";

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
