/**
 * The limits on Login: an exponential back-off per identifier and per client address (see `BackOff`), and a
 * bound on concurrent password checks (scrypt) with a bounded queue (see `WorkLimit`). The knobs come from
 * options or from the environment (`DENDRITE_LOGIN_*`, `DENDRITE_KDF_*`, see docs/security.md).
 *
 * @module
 */
import {
  BackOff,
  type BackOffOptions,
  type Clock,
  verifyPassword,
  WorkLimit,
  type WorkLimitOptions,
} from "../../dendrite/security/mod.ts";

/** The knobs of the login limits. */
export interface LoginLimitOptions {
  /** Back-off per identifier (default: 5 free failures, then 1 s doubling up to 15 min). */
  readonly identifier?: BackOffOptions;
  /** Back-off per client address (default: 20 free failures, then 1 s doubling up to 15 min). */
  readonly address?: BackOffOptions;
  /** Concurrent password checks and waiting ones (default 1 and 16). */
  readonly work?: WorkLimitOptions;
  /** The password check (default scrypt's `verifyPassword`); tests count calls through it. */
  readonly checkPassword?: (password: string, hash: string) => Promise<boolean>;
  /**
   * Take the client address from the last `x-forwarded-for` entry (the one the proxy in front added) instead
   * of the connection's peer (default false). Only behind a proxy that sets it (Envoy: `use_remote_address`);
   * otherwise clients could pick their own address.
   */
  readonly trustForwardedFor?: boolean;
}

/** The running limits. */
export interface LoginLimits {
  readonly identifiers: BackOff;
  readonly addresses: BackOff;
  readonly work: WorkLimit;
  readonly trustForwardedFor: boolean;
  checkPassword(password: string, hash: string): Promise<boolean>;
}

/** The environment variables of the login limits. */
export const LOGIN_ENV = {
  identifierFreeFailures: "DENDRITE_LOGIN_FREE_FAILURES",
  addressFreeFailures: "DENDRITE_LOGIN_ADDRESS_FREE_FAILURES",
  baseDelayMs: "DENDRITE_LOGIN_BACKOFF_MS",
  maxDelayMs: "DENDRITE_LOGIN_MAX_BACKOFF_MS",
  kdfConcurrency: "DENDRITE_KDF_CONCURRENCY",
  kdfQueue: "DENDRITE_KDF_QUEUE",
  trustForwardedFor: "DENDRITE_LOGIN_TRUST_FORWARDED_FOR",
} as const;

function integer(env: (name: string) => string | undefined, name: string, min: number): number | undefined {
  const text = env(name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, not ${JSON.stringify(text)}`);
  }
  return value;
}

function flag(env: (name: string) => string | undefined, name: string): boolean | undefined {
  const text = env(name);
  if (text === undefined || text === "") return undefined;
  if (text === "1" || text === "true") return true;
  if (text === "0" || text === "false") return false;
  throw new RangeError(`${name} must be true or false (1 or 0), not ${JSON.stringify(text)}`);
}

/**
 * Reads the knobs from the environment; unset ones keep their defaults. Throws a `RangeError` naming the
 * variable when a value is not a valid number.
 */
export function loginLimitsFromEnv(env: (name: string) => string | undefined): LoginLimitOptions {
  const base = integer(env, LOGIN_ENV.baseDelayMs, 1);
  const max = integer(env, LOGIN_ENV.maxDelayMs, 1);
  const delays = { baseDelayMs: base, maxDelayMs: max };
  return {
    identifier: { freeFailures: integer(env, LOGIN_ENV.identifierFreeFailures, 0), ...delays },
    address: { freeFailures: integer(env, LOGIN_ENV.addressFreeFailures, 0), ...delays },
    work: {
      concurrency: integer(env, LOGIN_ENV.kdfConcurrency, 1),
      queue: integer(env, LOGIN_ENV.kdfQueue, 0),
    },
    trustForwardedFor: flag(env, LOGIN_ENV.trustForwardedFor),
  };
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Builds the limits: `options` over `fallback` (e.g. from the environment) over the defaults. */
export function createLoginLimits(
  options: LoginLimitOptions = {},
  clock?: Clock,
  fallback: LoginLimitOptions = {},
): LoginLimits {
  const work = new WorkLimit({ ...defined(fallback.work), ...defined(options.work) });
  const check = options.checkPassword ?? fallback.checkPassword ?? verifyPassword;
  return {
    identifiers: new BackOff({ clock, ...defined(fallback.identifier), ...defined(options.identifier) }),
    addresses: new BackOff({
      clock,
      freeFailures: 20,
      ...defined(fallback.address),
      ...defined(options.address),
    }),
    work,
    trustForwardedFor: options.trustForwardedFor ?? fallback.trustForwardedFor ?? false,
    checkPassword: (password, hash) => work.run(() => check(password, hash)),
  };
}

/** The client address a login is counted against: the peer, or the proxy's last `x-forwarded-for` entry. */
export function clientAddress(limits: LoginLimits, peer: string, headers: Headers): string {
  if (!limits.trustForwardedFor) return peer;
  const last = headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
  return last || peer;
}
