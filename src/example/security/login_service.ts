/**
 * Login and GetChallenge, the public entry points. Login is throttled before any work: a back-off per
 * identifier and per client address after failures (RESOURCE_EXHAUSTED with `retry-after`, also for the right
 * password until the wait is over; a success clears it), and password checks run under a bound on concurrent
 * scrypt work with a bounded queue.
 *
 * @module
 */
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { peerAddressKey, TooManyAttemptsError } from "../../dendrite/security/mod.ts";
import { AuthService, ChallengeService } from "../../gen/dendrite/security/v1/auth_pb.ts";
import type { SecurityCore } from "./core.ts";
import { clientAddress } from "./login_limits.ts";
import { JWT_LIFETIME_SECONDS } from "./properties.ts";
import { type ServiceOptions, toConnectError } from "./service_support.ts";

/** The longest password Login and the client helper accept. */
export const MAX_PASSWORD_LENGTH = 1_024;

/** Registers AuthService and ChallengeService. */
export function registerLoginServices(
  router: ConnectRouter,
  core: SecurityCore,
  serviceOptions: ServiceOptions,
): void {
  const { model, logger, login: limits } = core;

  router.service(AuthService, {
    async login(request, context) {
      if (request.password.length > MAX_PASSWORD_LENGTH || request.identifier.length > 128) {
        throw new ConnectError("Invalid identifier or password", Code.Unauthenticated);
      }
      const issuer = core.issuer();
      if (!issuer) throw new ConnectError("No signing key has been uploaded yet", Code.Unavailable);
      const identifier = request.identifier;
      const address = clientAddress(limits, context.values.get(peerAddressKey), context.requestHeader);
      const wait = Math.max(
        limits.identifiers.waitMs(identifier),
        address ? limits.addresses.waitMs(address) : 0,
      );
      if (wait > 0) throw toConnectError(new TooManyAttemptsError("Too many failed logins", wait));
      const credential = model.credentials.get(identifier);
      let matches: boolean;
      try {
        // Unknown identifiers cost the same scrypt work as known ones.
        matches = await limits.checkPassword(
          request.password,
          credential?.passwordHash ?? await core.dummyHash(),
        );
      } catch (error) {
        throw toConnectError(error);
      }
      if (!credential || !matches) {
        limits.identifiers.failure(identifier);
        if (address) limits.addresses.failure(address);
        logger.warn(`Login refused for identifier ${JSON.stringify(identifier)}`);
        throw new ConnectError("Invalid identifier or password", Code.Unauthenticated);
      }
      limits.identifiers.success(identifier);
      if (address) limits.addresses.success(address);
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
}
