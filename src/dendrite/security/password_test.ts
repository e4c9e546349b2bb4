import { timingSafeEqual } from "node:crypto";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { compareHashes, hashPassword, parsePasswordHash, verifyPassword } from "./password.ts";

const FAST = { logN: 10, r: 8, p: 1 };

Deno.test("hashPassword() makes a salted scrypt hash that verifyPassword() accepts only for the password", async () => {
  const hash = await hashPassword("correct horse battery", FAST);
  assert(hash.startsWith("scrypt$10$8$1$"), hash);
  assert(!hash.includes("correct horse"), "the hash must not contain the password");
  assertEquals(await verifyPassword("correct horse battery", hash), true);
  assertEquals(await verifyPassword("correct horse batterY", hash), false);
  assertEquals(await verifyPassword("", hash), false);
  const again = await hashPassword("correct horse battery", FAST);
  assert(again !== hash, "two hashes of one password differ (random salt)");
});

Deno.test("verifyPassword() compares with node:crypto timingSafeEqual", async () => {
  assert(compareHashes === timingSafeEqual, "the comparison must be the constant-time one");
  const hash = await hashPassword("pw-123456", FAST);
  const { hash: stored } = parsePasswordHash(hash);
  assertEquals(stored.length, 32);
});

Deno.test("verifyPassword() refuses a malformed hash and out-of-range parameters", async () => {
  await assertRejects(() => verifyPassword("x", "sha256:abc:def"), TypeError);
  await assertRejects(() => verifyPassword("x", "scrypt$30$8$1$c2FsdHNhbHQ$" + "A".repeat(43)), RangeError);
});
