/**
 * Login throttling over real gRPC and Connect: exponential back-off per identifier and per client address
 * (RESOURCE_EXHAUSTED with a retry-after, the right password refused too until the wait is over, other
 * identifiers unaffected, a success clears it) under an injected clock; and the bound on concurrent password
 * checks (counted inside the check itself).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { verifyPassword } from "../../src/dendrite/security/mod.ts";
import { CredentialService } from "../../src/gen/dendrite/security/v1/credentials_pb.ts";
import { credentialRequest } from "../../src/example/security/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { FAST_SCRYPT, type SecurityFixture, startSecurityFixture } from "./fixture.ts";

async function attempt(f: SecurityFixture, identifier: string, password: string) {
  try {
    await f.auth.login({ identifier, password });
    return { code: "ok" as const };
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    return { code: error.code, retryAfter: error.metadata.get("retry-after"), message: error.rawMessage };
  }
}

Deno.test("200 wrong passwords back off exponentially per identifier; the right one waits too; others are unaffected", async () => {
  const f = await startSecurityFixture({
    login: { identifier: { freeFailures: 5, baseDelayMs: 1_000 }, address: { freeFailures: 10_000 } },
    freezeClock: true,
  });
  try {
    await f.signed(
      CredentialService.method.registerCredential,
      await credentialRequest("bob", "bob-password-1", [], FAST_SCRYPT),
    );
    const results = [];
    for (let i = 0; i < 200; i++) results.push(await attempt(f, "bob", `wrong-${i}`));
    const codes = results.map((r) => r.code);
    assertEquals(codes.slice(0, 6), Array(6).fill(Code.Unauthenticated));
    assertEquals(codes.slice(6), Array(194).fill(Code.ResourceExhausted));
    assertEquals(results[6].retryAfter, "1");
    assertEquals(results[6].message, "Too many failed logins; retry after 1 s");

    // The right password during the back-off: refused as well.
    assertEquals((await attempt(f, "bob", "bob-password-1")).code, Code.ResourceExhausted);
    // Another identifier from the same client is not affected.
    assertEquals((await attempt(f, "admin", f.adminPassword!)).code, "ok");
    // Connect: HTTP 429 with a retry-after header.
    const response = await fetch(`${f.connectUrl}/dendrite.security.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ identifier: "bob", password: "bob-password-1" }),
    });
    assertEquals(response.status, 429);
    assertEquals(response.headers.get("retry-after"), "1");
    assertEquals((await response.json()).code, "resource_exhausted");

    // Once the wait is over, one more failure doubles it.
    f.advance(1_001);
    assertEquals((await attempt(f, "bob", "wrong-again")).code, Code.Unauthenticated);
    assertEquals((await attempt(f, "bob", "bob-password-1")).retryAfter, "2");
    f.advance(2_001);
    // The right password works, and clears the back-off.
    assertEquals((await attempt(f, "bob", "bob-password-1")).code, "ok");
    for (let i = 0; i < 5; i++) assertEquals((await attempt(f, "bob", "wrong")).code, Code.Unauthenticated);
    assertEquals((await attempt(f, "bob", "bob-password-1")).code, "ok");
  } finally {
    await f.close();
  }
});

Deno.test("failures from one client address throttle every identifier from it", async () => {
  const f = await startSecurityFixture({
    login: { identifier: { freeFailures: 100 }, address: { freeFailures: 3, baseDelayMs: 5_000 } },
    freezeClock: true,
  });
  try {
    for (let i = 0; i < 4; i++) {
      assertEquals((await attempt(f, `user-${i}`, "wrong")).code, Code.Unauthenticated);
    }
    const refused = await attempt(f, "admin", f.adminPassword!);
    assertEquals(refused.code, Code.ResourceExhausted);
    assertEquals(refused.retryAfter, "5");
    f.advance(5_001);
    assertEquals((await attempt(f, "admin", f.adminPassword!)).code, "ok");
  } finally {
    await f.close();
  }
});

Deno.test("at most `concurrency` password checks run at once; beyond the queue Login is RESOURCE_EXHAUSTED", async () => {
  let running = 0;
  let peak = 0;
  let entered = 0;
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let allIn = () => {};
  const twoIn = new Promise<void>((resolve) => (allIn = resolve));
  const f = await startSecurityFixture({
    login: {
      work: { concurrency: 2, queue: 3 },
      address: { freeFailures: 10_000 },
      async checkPassword(password, hash) {
        running++;
        peak = Math.max(peak, running);
        if (++entered === 2) allIn();
        try {
          await gate;
          return await verifyPassword(password, hash);
        } finally {
          running--;
        }
      },
    },
  });
  try {
    const settled: Awaited<ReturnType<typeof attempt>>[] = [];
    let fiveSettled = () => {};
    const five = new Promise<void>((resolve) => (fiveSettled = resolve));
    const calls = Array.from({ length: 10 }, (_, i) =>
      attempt(f, `flood-${i}`, "wrong").then((result) => {
        if (settled.push(result) === 5) fiveSettled();
        return result;
      }));
    await twoIn;
    // Two run, three wait, five are refused at once: they settle while the gate is still closed.
    await five;
    assertEquals(settled.map((r) => r.code), Array(5).fill(Code.ResourceExhausted));
    assert(settled.every((r) => r.retryAfter === "1"));
    assertEquals(peak, 2);
    release();
    const codes = (await Promise.all(calls)).map((r) => r.code);
    assertEquals(codes.filter((c) => c === Code.Unauthenticated).length, 5);
    assertEquals(codes.filter((c) => c === Code.ResourceExhausted).length, 5);
    assertEquals(peak, 2);
    assertEquals(entered, 5);
  } finally {
    release();
    await f.close();
  }
});
