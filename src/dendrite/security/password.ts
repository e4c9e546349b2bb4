/**
 * Password hashing with scrypt (node:crypto) and a constant-time comparison (`timingSafeEqual`).
 *
 * Format: `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`; parameters are read back from the hash, so
 * they can grow later without invalidating stored hashes, within bounds that keep a crafted hash from exhausting
 * memory.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { fromBase64Url, toBase64Url } from "./keys.ts";

/**
 * scrypt cost parameters.
 *
 * @example
 * ```ts
 * import { hashPassword, parsePasswordHash, type ScryptParams, verifyPassword } from "./mod.ts";
 * const params: ScryptParams = { logN: 17, r: 8, p: 1 }; // OWASP's minimum: ~128 MiB per hash
 * const stored = await hashPassword("correct horse", params);
 * console.log(await verifyPassword("correct horse", stored)); // true
 * ```
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N (default 15, i.e. N = 32768: ~32 MiB, tens of ms). */
  readonly logN: number;
  /** scrypt block size r (default 8). */
  readonly r: number;
  /** scrypt parallelism p (default 1). */
  readonly p: number;
}

/**
 * The default parameters (OWASP's scrypt minimum is N=2^17,r=8,p=1 or an equivalent; 2^15 suits a starter).
 *
 * @example
 * ```ts
 * import { DEFAULT_SCRYPT, hashPassword } from "./password.ts";
 * const stored = await hashPassword("secret", { ...DEFAULT_SCRYPT, logN: 14 });
 * ```
 */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 1 };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const MAX_LOG_N = 20;

function derive(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFC"),
      salt,
      KEY_LENGTH,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 },
      (error, key) => error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

/**
 * Hashes a password with a fresh random salt.
 *
 * @example
 * ```ts
 * import { hashPassword, verifyPassword } from "./password.ts";
 * const hash = await hashPassword("correct horse", { logN: 10, r: 8, p: 1 });
 * console.log(await verifyPassword("correct horse", hash)); // true
 * ```
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params);
  const salt = new Uint8Array(randomBytes(SALT_LENGTH));
  const hash = await derive(password, salt, params);
  return `scrypt$${params.logN}$${params.r}$${params.p}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

function checkParams(params: ScryptParams): void {
  const ok = Number.isInteger(params.logN) && params.logN >= 1 && params.logN <= MAX_LOG_N &&
    Number.isInteger(params.r) && params.r >= 1 && params.r <= 32 &&
    Number.isInteger(params.p) && params.p >= 1 && params.p <= 16;
  if (!ok) throw new RangeError("scrypt parameters out of range");
}

/**
 * Parses a stored hash; throws a `TypeError` when it is not in the expected format.
 *
 * @example
 * ```ts
 * import { hashPassword, parsePasswordHash } from "./password.ts";
 * const { params } = parsePasswordHash(await hashPassword("secret", { logN: 10, r: 8, p: 1 }));
 * console.log(params.logN); // 10
 * ```
 */
export function parsePasswordHash(
  encoded: string,
): { params: ScryptParams; salt: Uint8Array; hash: Uint8Array } {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") throw new TypeError("Not an scrypt password hash");
  const params = { logN: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
  checkParams(params);
  const salt = fromBase64Url(parts[4]);
  const hash = fromBase64Url(parts[5]);
  if (salt.length < 8 || hash.length !== KEY_LENGTH) throw new TypeError("Not an scrypt password hash");
  return { params, salt, hash };
}

/** The comparison `verifyPassword` uses: node:crypto's constant-time `timingSafeEqual`. */
export const compareHashes: (a: Uint8Array, b: Uint8Array) => boolean = timingSafeEqual;

/**
 * Checks a password against a stored hash with a constant-time comparison. A malformed hash is an error, not
 * a mismatch (it points at corrupt data).
 *
 * @example
 * ```ts
 * import { hashPassword, verifyPassword } from "./password.ts";
 * const stored = await hashPassword("secret", { logN: 10, r: 8, p: 1 });
 * console.log(await verifyPassword("secret", stored), await verifyPassword("guess", stored)); // true false
 * ```
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const { params, salt, hash } = parsePasswordHash(encoded);
  const candidate = await derive(password, salt, params);
  return compareHashes(candidate, hash);
}
