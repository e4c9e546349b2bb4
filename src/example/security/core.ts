/**
 * What the security services need from the running security domain (implemented by `startSecurity`). A type
 * of its own, so the services and the runtime do not import each other.
 *
 * @module
 */
import type { CommandBus } from "../../dendrite/mod.ts";
import type {
  ChallengeStore,
  Ed25519KeyPair,
  JwtIssuer,
  ScryptParams,
  SecurityLogger,
} from "../../dendrite/security/mod.ts";
import type { LoginLimits } from "./login_limits.ts";
import type { SecurityModel } from "./model.ts";

/** What the services use (internal surface of the runtime). */
export interface SecurityCore {
  readonly model: SecurityModel;
  readonly challenges: ChallengeStore;
  readonly commandBus: CommandBus;
  readonly logger: SecurityLogger;
  /** The least scrypt cost a password hash must have (and what the server hashes with). */
  readonly scrypt: ScryptParams;
  /** Login back-off per identifier and per address, and the bound on concurrent password checks. */
  readonly login: LoginLimits;
  issuer(): JwtIssuer | undefined;
  setSigningKey(key: Ed25519KeyPair): void;
  /** Waits until the model reflects every event stored so far. */
  caughtUp(): Promise<void>;
  /** An scrypt hash of a random password, so unknown identifiers cost as much as known ones. */
  dummyHash(): Promise<string>;
}
