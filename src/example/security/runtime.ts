/**
 * The security domain at run time: its aggregates' command handlers, the projection into the in-memory model
 * (replayed from the first event at every start), the challenge store, the JWT issuer (once a signing key is
 * uploaded) and verifier, and the auth interceptor for a policy.
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
import { type KeyEntry, SecurityModel, securityProjection } from "./model.ts";
import { SECURITY_POLICY } from "./policy.ts";

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
  readonly logger?: SecurityLogger;
  readonly clock?: Clock;
  readonly onError?: (error: unknown, where: { processor: string; segment: number; token: number }) => void;
}

/** What the services use (internal surface of the runtime). */
export interface SecurityCore {
  readonly model: SecurityModel;
  readonly challenges: ChallengeStore;
  readonly commandBus: CommandBus;
  readonly logger: SecurityLogger;
  readonly scrypt: ScryptParams;
  issuer(): JwtIssuer | undefined;
  setSigningKey(key: Ed25519KeyPair): void;
  /** Waits until the model reflects every event stored so far. */
  caughtUp(): Promise<void>;
  /** An scrypt hash of a random password, so unknown identifiers cost as much as known ones. */
  dummyHash(): Promise<string>;
}

/** The running security domain. */
export interface SecurityRuntime extends SecurityCore {
  readonly verifier: JwtVerifier;
  readonly processor: TrackingProcessor;
  /** The auth interceptor for the security services plus `appPolicy` (e.g. the greeter's). */
  interceptor(appPolicy?: AuthPolicy): Interceptor;
  /** The key id JWTs are signed with, once a signing key was uploaded. */
  signingKeyId(): string | undefined;
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
  const model = new SecurityModel(options.root);
  const audience = { issuer: options.issuer ?? "dendrite", audience: options.audience ?? "dendrite-api" };
  const clock = options.clock ?? Date.now;
  const scrypt = options.scrypt ?? DEFAULT_SCRYPT;
  const challenges = new ChallengeStore({ ttlMs: options.challengeTtlMs, clock });
  const verifier = new JwtVerifier({ ...audience, clock, resolveKey: (kid) => model.trustedKey(kid) });
  const registrations: Registration[] = [];
  const processor = new TrackingProcessor(securityProjection(model), {
    eventStore: ports.eventStore,
    tokenStore: new InMemoryTokenStore(),
    // Rebuilt from the first event at every start, so its dead letters are too.
    deadLetters: new InMemoryDeadLetterQueue(),
    registry: ports.registry,
    flushIntervalMs: 1_000,
    onError: options.onError,
  });
  let issuer: JwtIssuer | undefined;
  let dummy: Promise<string> | undefined;
  try {
    const repository = { eventStore: ports.eventStore, registry: ports.registry };
    registrations.push(
      ...(await registerAggregate(ports.commandBus, KeyAggregate, repository)).registrations,
    );
    registrations.push(
      ...(await registerAggregate(ports.commandBus, CredentialAggregate, repository)).registrations,
    );
    registrations.push(
      ...(await registerAggregate(ports.commandBus, PropertyAggregate, repository)).registrations,
    );
    await processor.start();
    await processor.caughtUp(await ports.eventStore.lastToken());
  } catch (error) {
    await Promise.allSettled(registrations.map((r) => r.cancel()));
    await processor.stop();
    throw error;
  }
  const runtime: SecurityRuntime = {
    model,
    challenges,
    commandBus: ports.commandBus,
    logger: options.logger ?? consoleSecurityLogger,
    scrypt,
    verifier,
    processor,
    issuer: () => issuer,
    setSigningKey(key) {
      issuer = new JwtIssuer(key, audience, clock);
    },
    signingKeyId: () => issuer?.keyId,
    async caughtUp() {
      await processor.caughtUp(await ports.eventStore.lastToken());
    },
    dummyHash() {
      dummy ??= hashPassword(crypto.randomUUID(), scrypt);
      return dummy;
    },
    interceptor(appPolicy = {}) {
      return createAuthInterceptor({
        policy: mergePolicies(SECURITY_POLICY, appPolicy),
        verifier,
        signatures: { challenges, resolveManager: (keyId) => model.keyManager(keyId) },
      });
    },
    async stop() {
      await Promise.allSettled(registrations.map((r) => r.cancel()));
      await processor.stop();
    },
  };
  return runtime;
}
