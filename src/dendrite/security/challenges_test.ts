import { assertEquals } from "../../../test/assert.ts";
import { ChallengeStore } from "./challenges.ts";

function store(ttlMs = 30_000) {
  let now = 1_700_000_000_000;
  return { store: new ChallengeStore({ ttlMs, clock: () => now }), advance: (ms: number) => now += ms };
}

Deno.test("ChallengeStore: a nonce issued before 20,000 others is still valid, once", () => {
  const { store: challenges } = store();
  const first = challenges.issue();
  for (let i = 0; i < 20_000; i++) challenges.issue();
  assertEquals(challenges.size, 0);
  assertEquals(challenges.check(first.nonce), true);
  assertEquals(challenges.consume(first.nonce), true);
  assertEquals(challenges.consume(first.nonce), false);
  assertEquals(challenges.check(first.nonce), false);
});

Deno.test("ChallengeStore refuses an expired nonce and forgets used ones after they expire", () => {
  const { store: challenges, advance } = store(30_000);
  const used = challenges.issue();
  assertEquals(challenges.consume(used.nonce), true);
  const late = challenges.issue();
  advance(30_001);
  assertEquals(challenges.consume(late.nonce), false);
  assertEquals(challenges.consume(used.nonce), false);
  challenges.consume(challenges.issue().nonce);
  assertEquals(challenges.size, 1);
});

Deno.test("ChallengeStore refuses altered, foreign, short and future-dated nonces", () => {
  const { store: challenges } = store();
  const { nonce } = challenges.issue();
  const altered = nonce.slice();
  altered[7] ^= 1; // the issue time
  assertEquals(challenges.consume(altered), false);
  const other = new ChallengeStore();
  assertEquals(other.consume(nonce), false);
  assertEquals(challenges.consume(nonce.subarray(0, 16)), false);
  const secret = new Uint8Array(32);
  let now = 1_000_000;
  const a = new ChallengeStore({ secret, clock: () => now });
  now += 10_000;
  const fromFuture = a.issue().nonce;
  now -= 10_000;
  assertEquals(a.consume(fromFuture), false);
  now += 10_000;
  assertEquals(a.consume(fromFuture), true);
});
