import { Code, ConnectError } from "@connectrpc/connect";
import { assertEquals } from "../../test/assert.ts";
import { metricsRefusal, statusLabel } from "./metrics.ts";

Deno.test("metricsRefusal(): without METRICS_TOKEN loopback clients only; with it, the bearer token", () => {
  for (const address of ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"]) {
    assertEquals(metricsRefusal({}, undefined, address), undefined, address);
  }
  for (const address of ["10.0.0.7", "::ffff:192.168.1.2", "2001:db8::1", ""]) {
    assertEquals(metricsRefusal({}, undefined, address)?.status, 403, address);
  }
  const access = { token: "s3cret" };
  assertEquals(
    metricsRefusal(access, undefined, "127.0.0.1")?.status,
    401,
    "the token is needed on loopback too",
  );
  assertEquals(metricsRefusal(access, "Bearer wrong", "10.0.0.7")?.status, 403);
  assertEquals(metricsRefusal(access, "Bearer s3cret0", "10.0.0.7")?.status, 403);
  assertEquals(metricsRefusal(access, "Bearer s3cret", "10.0.0.7"), undefined);
});

Deno.test("statusLabel() names the Connect code in snake case", () => {
  assertEquals(statusLabel(undefined), "ok");
  assertEquals(statusLabel(new ConnectError("x", Code.InvalidArgument)), "invalid_argument");
  assertEquals(statusLabel(new ConnectError("x", Code.FailedPrecondition)), "failed_precondition");
  assertEquals(statusLabel(new Error("plain")), "unknown");
});
