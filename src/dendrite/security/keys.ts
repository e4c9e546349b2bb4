/**
 * Ed25519 keys (WebCrypto): generation, raw public keys, PKCS#8 private keys (DER and PEM), and key ids.
 * A key id is the RFC 7638 JWK thumbprint of the public key, so it is derived from the key and cannot be
 * chosen by whoever presents it.
 *
 * @module
 */
import { calculateJwkThumbprint } from "jose";

const ED25519 = "Ed25519";

/**
 * A key pair with its key id.
 *
 * @example
 * ```ts
 * import { type Ed25519KeyPair, generateEd25519, signEd25519, verifyEd25519 } from "./mod.ts";
 * const key: Ed25519KeyPair = await generateEd25519();
 * const data = new TextEncoder().encode("hello");
 * const signature = await signEd25519(key.privateKey, data);
 * console.log(key.publicKeyRaw.length, await verifyEd25519(key.publicKey, signature, data)); // 32 true
 * ```
 */
export interface Ed25519KeyPair {
  /** The key id (derived from the public key). */
  readonly keyId: string;
  /** The public key. */
  readonly publicKey: CryptoKey;
  /** The private key. */
  readonly privateKey: CryptoKey;
  /** The raw 32-byte public key. */
  readonly publicKeyRaw: Uint8Array;
}

/**
 * Base64url without padding.
 *
 * @example
 * ```ts
 * import { fromBase64Url, toBase64Url } from "./keys.ts";
 * console.log(toBase64Url(new Uint8Array([251, 255]))); // -_8
 * console.log(fromBase64Url("-_8")); // Uint8Array [251, 255]
 * ```
 */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes base64url (padding optional); throws a `TypeError` on anything else.
 *
 * @example
 * ```ts
 * import { fromBase64Url } from "./keys.ts";
 * const bytes = fromBase64Url("AQI"); // Uint8Array [1, 2]
 * ```
 */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new TypeError("Not base64url");
  const padded = text.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * The key id of a raw Ed25519 public key: its JWK thumbprint (SHA-256, base64url).
 *
 * @example
 * ```ts
 * import { generateEd25519, keyIdOf } from "./keys.ts";
 * const { publicKeyRaw } = await generateEd25519();
 * const keyId = await keyIdOf(publicKeyRaw);
 * ```
 */
export function keyIdOf(publicKeyRaw: Uint8Array): Promise<string> {
  assertRawPublicKey(publicKeyRaw);
  return calculateJwkThumbprint({ kty: "OKP", crv: ED25519, x: toBase64Url(publicKeyRaw) }, "sha256");
}

function assertRawPublicKey(raw: Uint8Array): void {
  if (raw.length !== 32) throw new TypeError(`An Ed25519 public key has 32 bytes, got ${raw.length}`);
}

/**
 * Generates a fresh, extractable Ed25519 key pair.
 *
 * @example
 * ```ts
 * import { generateEd25519 } from "./keys.ts";
 * const pair = await generateEd25519();
 * console.log(pair.keyId.length); // 43
 * ```
 */
export async function generateEd25519(): Promise<Ed25519KeyPair> {
  const pair = await crypto.subtle.generateKey({ name: ED25519 }, true, ["sign", "verify"]) as CryptoKeyPair;
  const publicKeyRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    keyId: await keyIdOf(publicKeyRaw),
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
    publicKeyRaw,
  };
}

/**
 * Imports a raw 32-byte Ed25519 public key for verification.
 *
 * @example
 * ```ts
 * import { generateEd25519, importPublicKey } from "./keys.ts";
 * const { publicKeyRaw } = await generateEd25519();
 * const publicKey = await importPublicKey(publicKeyRaw);
 * ```
 */
export function importPublicKey(raw: Uint8Array): Promise<CryptoKey> {
  assertRawPublicKey(raw);
  return crypto.subtle.importKey("raw", new Uint8Array(raw), { name: ED25519 }, true, ["verify"]);
}

/**
 * Imports an Ed25519 private key (PKCS#8 DER) with its public half and key id.
 *
 * @example
 * ```ts
 * import { exportPrivateKey, generateEd25519, importPrivateKey } from "./keys.ts";
 * const pkcs8 = await exportPrivateKey((await generateEd25519()).privateKey);
 * const pair = await importPrivateKey(pkcs8); // with its public key and key id
 * ```
 */
export async function importPrivateKey(pkcs8: Uint8Array): Promise<Ed25519KeyPair> {
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", new Uint8Array(pkcs8), { name: ED25519 }, true, [
      "sign",
    ]);
  } catch (cause) {
    throw new TypeError("Not an Ed25519 private key in PKCS#8", { cause });
  }
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  if (typeof jwk.x !== "string") throw new TypeError("The private key has no public half");
  const publicKeyRaw = fromBase64Url(jwk.x);
  return {
    keyId: await keyIdOf(publicKeyRaw),
    privateKey,
    publicKey: await importPublicKey(publicKeyRaw),
    publicKeyRaw,
  };
}

/**
 * Exports a private key as PKCS#8 DER.
 *
 * @example
 * ```ts
 * import { exportPrivateKey, generateEd25519, toPem } from "./keys.ts";
 * const pem = toPem(await exportPrivateKey((await generateEd25519()).privateKey));
 * ```
 */
export async function exportPrivateKey(privateKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey));
}

/**
 * Wraps PKCS#8 DER in PEM (`PRIVATE KEY`), as openssl writes it.
 *
 * @example
 * ```ts
 * import { exportPrivateKey, fromPem, generateEd25519, toPem } from "./keys.ts";
 * const pkcs8 = await exportPrivateKey((await generateEd25519()).privateKey);
 * console.log(fromPem(toPem(pkcs8)).length === pkcs8.length); // true
 * ```
 */
export function toPem(pkcs8: Uint8Array): string {
  let binary = "";
  for (const byte of pkcs8) binary += String.fromCharCode(byte);
  const body = btoa(binary).match(/.{1,64}/g)?.join("\n") ?? "";
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

/**
 * Unwraps a PEM `PRIVATE KEY` into PKCS#8 DER.
 *
 * @example
 * ```ts
 * import { fromPem, importPrivateKey } from "./keys.ts";
 * const pem = await Deno.readTextFile("data/secure/root.key").catch(() => undefined);
 * if (pem) console.log((await importPrivateKey(fromPem(pem))).keyId);
 * ```
 */
export function fromPem(pem: string): Uint8Array {
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new TypeError("Not a PEM private key (PKCS#8)");
  const binary = atob(match[1].replace(/\s+/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * Signs bytes with an Ed25519 private key.
 *
 * @example
 * ```ts
 * import { generateEd25519, signEd25519, verifyEd25519 } from "./keys.ts";
 * const key = await generateEd25519();
 * const data = new TextEncoder().encode("hello");
 * const signature = await signEd25519(key.privateKey, data);
 * console.log(await verifyEd25519(key.publicKey, signature, data)); // true
 * ```
 */
export async function signEd25519(privateKey: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, new Uint8Array(data)));
}

/**
 * Verifies an Ed25519 signature; false (never a throw) for a malformed signature.
 *
 * @example
 * ```ts
 * import { generateEd25519, verifyEd25519 } from "./keys.ts";
 * const key = await generateEd25519();
 * console.log(await verifyEd25519(key.publicKey, new Uint8Array(3), new Uint8Array())); // false
 * ```
 */
export async function verifyEd25519(
  publicKey: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  if (signature.length !== 64) return false;
  try {
    return await crypto.subtle.verify(ED25519, publicKey, new Uint8Array(signature), new Uint8Array(data));
  } catch {
    return false;
  }
}
