import { assertEquals, assertThrows } from "../../../test/assert.ts";
import { clientAddress, createLoginLimits, LOGIN_ENV, loginLimitsFromEnv } from "./login_limits.ts";

Deno.test("loginLimitsFromEnv() reads the knobs and names a bad one", () => {
  const env: Record<string, string> = {
    [LOGIN_ENV.identifierFreeFailures]: "3",
    [LOGIN_ENV.kdfConcurrency]: "2",
    [LOGIN_ENV.trustForwardedFor]: "true",
  };
  const options = loginLimitsFromEnv((name) => env[name]);
  assertEquals(options.identifier?.freeFailures, 3);
  assertEquals(options.work?.concurrency, 2);
  assertEquals(options.trustForwardedFor, true);
  assertThrows(
    () => loginLimitsFromEnv((name) => name === LOGIN_ENV.kdfConcurrency ? "0" : undefined),
    "DENDRITE_KDF_CONCURRENCY must be an integer of at least 1",
  );
  assertThrows(
    () => loginLimitsFromEnv((name) => name === LOGIN_ENV.baseDelayMs ? "soon" : undefined),
    "DENDRITE_LOGIN_BACKOFF_MS",
  );
});

Deno.test("clientAddress() takes the proxy's x-forwarded-for entry only when told to", () => {
  const headers = new Headers({ "x-forwarded-for": "6.6.6.6, 10.0.0.7" });
  assertEquals(clientAddress(createLoginLimits(), "127.0.0.1", headers), "127.0.0.1");
  const trusting = createLoginLimits({}, undefined, { trustForwardedFor: true });
  assertEquals(clientAddress(trusting, "127.0.0.1", headers), "10.0.0.7");
  assertEquals(clientAddress(trusting, "127.0.0.1", new Headers()), "127.0.0.1");
});
