/**
 * The security API (connect-es service implementations): Login, GetChallenge (`login_service.ts`), key
 * management and the signing-key upload (`key_service.ts`), credentials and configuration (here). Access
 * control is NOT done here: the auth interceptor applies `SECURITY_POLICY` (signed changes, admin-only lists,
 * public Login/GetChallenge) before a handler runs. Every change goes through the command bus as a command that
 * carries its signed request, and the handler waits until the model has caught up, so a change is visible to
 * the next request.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { sendToAggregate } from "../../dendrite/mod.ts";
import { parsePasswordHash, type ScryptParams } from "../../dendrite/security/mod.ts";
import { ConfigService, PropertySchema } from "../../gen/dendrite/security/v1/config_pb.ts";
import { CredentialInfoSchema, CredentialService } from "../../gen/dendrite/security/v1/credentials_pb.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import {
  CredentialAggregate,
  identifierProblem,
  normalRoles,
  PropertyAggregate,
  rolesProblem,
  SecurityDomainErrors,
} from "./aggregates.ts";
import type { SecurityCore } from "./core.ts";
import { registerKeyService } from "./key_service.ts";
import { registerLoginServices } from "./login_service.ts";
import { KNOWN_PROPERTIES, propertyProblem } from "./properties.ts";
import { change, invalid, type ServiceOptions, signedChange } from "./service_support.ts";

export { toConnectError } from "./service_support.ts";

/** Options of {@link registerSecurityServices}. */
export interface SecurityServicesOptions {
  /**
   * Interceptors for these services (outermost first), e.g. an error mapping and the auth interceptor. Given,
   * they replace the router's own interceptors for these services, as connect-es does for service options.
   */
  readonly interceptors?: readonly Interceptor[];
}

/** Why a client-made password hash is refused: not scrypt, or cheaper than the server's own parameters. */
export function passwordHashProblem(hash: string, least: ScryptParams): string | undefined {
  let params: ScryptParams;
  try {
    params = parsePasswordHash(hash).params;
  } catch {
    return 'A password hash is "scrypt$logN$r$p$salt$hash" (see hashPassword)';
  }
  const cost = (p: ScryptParams) => 2 ** p.logN * p.r * p.p;
  return params.logN >= least.logN && params.r >= least.r && cost(params) >= cost(least)
    ? undefined
    : `The password hash is too cheap: use at least logN=${least.logN}, r=${least.r}, p=${least.p}`;
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
  const serviceOptions: ServiceOptions = options.interceptors
    ? { interceptors: [...options.interceptors] }
    : undefined;
  registerLoginServices(router, core, serviceOptions);
  registerKeyService(router, core, serviceOptions);
  registerCredentialService(router, core, serviceOptions);
  registerConfigService(router, core, serviceOptions);
}

function registerCredentialService(router: ConnectRouter, core: SecurityCore, options: ServiceOptions): void {
  const { model, logger } = core;
  router.service(CredentialService, {
    async registerCredential(request, context) {
      const { identifier, passwordHash } = request;
      invalid(identifierProblem(identifier) ?? rolesProblem(request.roles));
      invalid(passwordHashProblem(passwordHash, core.scrypt));
      const { metadata, authorization } = signedChange(context, request);
      const roles = normalRoles(request.roles);
      const existing = model.credentials.get(identifier);
      if (existing?.passwordHash === passwordHash && existing.roles.join() === roles.join()) return {};
      await change(core, () =>
        sendToAggregate(
          core.commandBus,
          CredentialAggregate,
          create(domain.RegisterCredentialsCommandSchema, { identifier, passwordHash, roles, authorization }),
          { metadata },
        ));
      logger.info(
        `Credentials of ${JSON.stringify(identifier)} (roles: ${roles.join(", ") || "none"}) ` +
          `registered by ${metadata.subject}`,
      );
      return {};
    },
    async removeCredential(request, context) {
      const { identifier } = request;
      const { metadata, authorization } = signedChange(context, request);
      if (!model.credentials.has(identifier)) {
        throw new ConnectError(
          `No credentials for "${identifier}" (${SecurityDomainErrors.NOT_FOUND})`,
          Code.NotFound,
        );
      }
      await change(core, () =>
        sendToAggregate(
          core.commandBus,
          CredentialAggregate,
          create(domain.RemoveCredentialsCommandSchema, { identifier, authorization }),
          { metadata },
        ));
      logger.info(`Credentials of ${JSON.stringify(identifier)} removed by ${metadata.subject}`);
      return {};
    },
    listCredentials() {
      return {
        credentials: [...model.credentials.values()]
          .sort((a, b) => a.identifier.localeCompare(b.identifier))
          .map((c) => create(CredentialInfoSchema, { identifier: c.identifier, roles: [...c.roles] })),
      };
    },
  }, options);
}

function registerConfigService(router: ConnectRouter, core: SecurityCore, options: ServiceOptions): void {
  const { model, logger } = core;
  const property = (name: string) =>
    create(PropertySchema, { name, value: model.property(name), default: !model.properties.has(name) });

  router.service(ConfigService, {
    async setProperty(request, context) {
      const { name, value } = request;
      const { metadata, authorization } = signedChange(context, request);
      if ((model.properties.get(name) ?? "") === value && !propertyProblem(name, value)) return {};
      await change(core, () =>
        sendToAggregate(
          core.commandBus,
          PropertyAggregate,
          create(domain.ChangePropertyCommandSchema, { name, value, authorization }),
          { metadata },
        ));
      logger.info(`Property ${JSON.stringify(name)} changed by ${metadata.subject}`);
      return {};
    },
    getProperty(request) {
      return { property: property(request.name) };
    },
    listProperties() {
      const names = new Set([...Object.keys(KNOWN_PROPERTIES), ...model.properties.keys()]);
      return { properties: [...names].sort().map(property) };
    },
  }, options);
}
