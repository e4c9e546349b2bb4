/**
 * The security domain at run time: its aggregates' command handlers, the projection into the in-memory model
 * (replayed and verified from the first event at every start), the challenge store, the login limits, the JWT
 * issuer (once a signing key is uploaded) and verifier, and the auth interceptor for a policy.
 *
 * @module
 */
import type { Interceptor } from "@connectrpc/connect";
import {
  type CommandBus,
  type EventStore,
  InMemoryDeadLetterQueue,
  InMemoryTokenStore,
  type MessageRegistry,
  registerAggregate,
  type Registration,
  TrackingProcessor,
} from "../../dendrite/mod.ts";
import {
  type AuthPolicy,
  ChallengeStore,
  type Clock,
  consoleSecurityLogger,
  createAuthInterceptor,
  DEFAULT_SCRYPT,
  type Ed25519KeyPair,
  hashPassword,
  JwtIssuer,
  JwtVerifier,
  mergePolicies,
  type ScryptParams,
  type SecurityLogger,
} from "../../dendrite/security/mod.ts";
import { CredentialAggregate, KeyAggregate, PropertyAggregate } from "./aggregates.ts";
import type { SecurityCore } from "./core.ts";
import { createLoginLimits, type LoginLimitOptions, type LoginLimits } from "./login_limits.ts";
import { type KeyEntry, type Rejections, SecurityModel, securityProjection } from "./model.ts";
import { SECURITY_POLICY } from "./policy.ts";
import { UNSIGNED } from "./trust.ts";

/** The ports the security domain needs. */
export interface SecurityPorts {
  readonly commandBus: CommandBus;
  readonly eventStore: EventStore;
  readonly registry: MessageRegistry;
}

export interface SecurityOptions {
  /** The compiled-in root key manager (see `loadRootKey`). */
  readonly root: KeyEntry;
  /** JWT `iss` (default "dendrite"). */
  readonly issuer?: string;
  /** JWT `aud` (default "dendrite-api"). */
  readonly audience?: string;
  /** How long a challenge nonce is valid (default 60 s). */
  readonly challengeTtlMs?: number;
  readonly scrypt?: ScryptParams;
  /** Login back-off and the bound on concurrent password checks. */
  readonly login?: LoginLimitOptions;
  /** What `login` falls back to before the defaults (e.g. `loginLimitsFromEnv(env)`). */
  readonly loginDefaults?: LoginLimitOptions;
  readonly logger?: SecurityLogger;
  readonly clock?: Clock;
  readonly onError?: (error: unknown, where: { processor: string; segment: number; token: number }) => void;
}

/** The running security domain. */
export interface SecurityRuntime extends SecurityCore {
  readonly verifier: JwtVerifier;
  readonly processor: TrackingProcessor;
  /** The auth interceptor for the security services plus `appPolicy` (e.g. the greeter's). */
  interceptor(appPolicy?: AuthPolicy): Interceptor;
  /** The key id JWTs are signed with, once a signing key was uploaded. */
  signingKeyId(): string | undefined;
  /** The security events the model ignored because they do not verify, with the reason (for status pages). */
  rejectedEvents(): Rejections;
  stop(): Promise<void>;
}

/**
 * Starts the security domain and waits until its model is rebuilt from the event store.
 *
 * @example
 * ```ts ignore
 * const security = await startSecurity({ commandBus, eventStore, registry }, { root: await loadRootKey() });
 * const auth = security.interceptor(GREETER_POLICY);
 * ```
 */
export async function startSecurity(
  ports: SecurityPorts,
  options: SecurityOptions,
): Promise<SecurityRuntime> {
  const security = new Security(ports, options);
  await security.start();
  return security;
}

/** The security domain of one start. */
class Security implements SecurityRuntime {
  readonly model: SecurityModel;
  readonly challenges: ChallengeStore;
  readonly commandBus: CommandBus;
  readonly logger: SecurityLogger;
  readonly scrypt: ScryptParams;
  readonly login: LoginLimits;
  readonly verifier: JwtVerifier;
  readonly processor: TrackingProcessor;
  readonly #ports: SecurityPorts;
  readonly #audience: { readonly issuer: string; readonly audience: string };
  readonly #clock: Clock;
  readonly #registrations: Registration[] = [];
  #issuer: JwtIssuer | undefined;
  #dummy: Promise<string> | undefined;

  constructor(ports: SecurityPorts, options: SecurityOptions) {
    const model = new SecurityModel(options.root);
    this.model = model;
    this.#ports = ports;
    this.commandBus = ports.commandBus;
    this.logger = options.logger ?? consoleSecurityLogger;
    this.#audience = { issuer: options.issuer ?? "dendrite", audience: options.audience ?? "dendrite-api" };
    this.#clock = options.clock ?? Date.now;
    this.scrypt = options.scrypt ?? DEFAULT_SCRYPT;
    this.challenges = new ChallengeStore({ ttlMs: options.challengeTtlMs, clock: this.#clock });
    this.verifier = new JwtVerifier({
      ...this.#audience,
      clock: this.#clock,
      resolveKey: (kid) => model.trustedKey(kid),
    });
    this.login = createLoginLimits(options.login, this.#clock, options.loginDefaults);
    this.processor = new TrackingProcessor(securityProjection(model, this.logger), {
      eventStore: ports.eventStore,
      tokenStore: new InMemoryTokenStore(),
      // Rebuilt from the first event at every start, so its dead letters are too.
      deadLetters: new InMemoryDeadLetterQueue(),
      registry: ports.registry,
      flushIntervalMs: 1_000,
      onError: options.onError,
    });
  }

  /** Registers the aggregates' command handlers and rebuilds the model; on failure, undoes both. */
  async start(): Promise<void> {
    try {
      const repository = { eventStore: this.#ports.eventStore, registry: this.#ports.registry };
      const bus = this.commandBus;
      this.#registrations.push(...(await registerAggregate(bus, KeyAggregate, repository)).registrations);
      this.#registrations.push(
        ...(await registerAggregate(bus, CredentialAggregate, repository)).registrations,
      );
      this.#registrations.push(
        ...(await registerAggregate(bus, PropertyAggregate, repository)).registrations,
      );
      await this.processor.start();
      await this.caughtUp();
      refuseUnsignedHistory(this.model);
      if (this.model.rejectedCount > 0) {
        this.logger.warn("Security events ignored at rebuild: they do not verify (see rejectedEvents())", {
          accepted: this.model.accepted,
          ignored: this.model.rejectedCount,
        });
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  issuer(): JwtIssuer | undefined {
    return this.#issuer;
  }

  setSigningKey(key: Ed25519KeyPair): void {
    this.#issuer = new JwtIssuer(key, this.#audience, this.#clock);
  }

  signingKeyId(): string | undefined {
    return this.#issuer?.keyId;
  }

  rejectedEvents(): Rejections {
    return this.model.rejected();
  }

  async caughtUp(): Promise<void> {
    await this.processor.caughtUp(await this.#ports.eventStore.lastToken());
  }

  dummyHash(): Promise<string> {
    this.#dummy ??= hashPassword(crypto.randomUUID(), this.scrypt);
    return this.#dummy;
  }

  interceptor(appPolicy: AuthPolicy = {}): Interceptor {
    const model = this.model;
    return createAuthInterceptor({
      policy: mergePolicies(SECURITY_POLICY, appPolicy),
      verifier: this.verifier,
      signatures: { challenges: this.challenges, resolveManager: (keyId) => model.keyManager(keyId) },
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#registrations.map((r) => r.cancel()));
    await this.processor.stop();
  }
}

/**
 * The event store holds security events from a version before they were signed: none verifies, and all are
 * unsigned. Starting anyway would silently drop every key and credential in it, so this refuses with the fix.
 */
export class UnsignedSecurityHistoryError extends Error {
  constructor(count: number) {
    super(
      `The event store holds ${count} security event(s) written before security events were signed ` +
        "(an earlier version of dendrite); this version ignores unsigned ones, so their keys and credentials " +
        "would vanish. For a development data folder: stop, delete the data folder (DATA_DIR, ./data by " +
        'default) and start again. Otherwise see docs/security.md, section "Upgrading".',
    );
    this.name = "UnsignedSecurityHistoryError";
  }
}

function refuseUnsignedHistory(model: SecurityModel): void {
  const { count, events } = model.rejected();
  if (model.accepted === 0 && count > 0 && events.every((e) => e.reason === UNSIGNED)) {
    throw new UnsignedSecurityHistoryError(count);
  }
}
