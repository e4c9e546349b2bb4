/**
 * Security benchmark: authenticated Stop/Record throughput over gRPC next to the same calls without the auth
 * interceptor, in one run, and the JWT verification cost per request.
 *
 * `deno run -A test/bench/security.ts` prints the rows.
 *
 * @module
 */
import { type BenchRow, formatTable, measure, ratioRow } from "./harness.ts";
import { bearer, startSecurityFixture } from "../security/fixture.ts";

const CALLS = 2_000;
const IN_FLIGHT = 16;

/** Runs the scenarios and returns their rows. */
export async function benchSecurity(): Promise<BenchRow[]> {
  const secured = await startSecurityFixture();
  const open = await startSecurityFixture({ auth: false });
  try {
    const token = await secured.login("admin", secured.adminPassword!);
    const options = bearer(token);
    const securedCall = (i: number) =>
      i % 2 === 0 ? secured.greeter.stop({}, options) : secured.greeter.record({}, options);
    const openCall = (i: number) => i % 2 === 0 ? open.greeter.stop({}) : open.greeter.record({});
    // Warm up both (JIT, HTTP/2 sessions), then measure them interleaved in one run.
    await measure(200, IN_FLIGHT, securedCall);
    await measure(200, IN_FLIGHT, openCall);
    const withoutAuth = await measure(CALLS, IN_FLIGHT, openCall);
    const withAuth = await measure(CALLS, IN_FLIGHT, securedCall);

    const verifier = secured.security.verifier;
    const verifications = 5_000;
    const started = performance.now();
    for (let i = 0; i < verifications; i++) await verifier.verify(token);
    const microsPerVerify = ((performance.now() - started) * 1000) / verifications;

    return [
      ratioRow(
        "security: Stop/Record with JWT (gRPC, 16 in flight)",
        "calls/s",
        withAuth.perSecond,
        { name: "same calls without auth", value: withoutAuth.perSecond },
        0.8,
        `p99 ${withAuth.p99.toFixed(2)} ms vs ${withoutAuth.p99.toFixed(2)} ms`,
      ),
      {
        scenario: "security: JWT verification (EdDSA, jose)",
        metric: "µs/request",
        value: microsPerVerify,
        note: `${Math.round(1e6 / microsPerVerify).toLocaleString("en-US")} verifications/s on one core`,
      },
      {
        scenario: "security: auth overhead per call (from throughput)",
        metric: "µs/call",
        value: Math.max(0, (1e6 / withAuth.perSecond - 1e6 / withoutAuth.perSecond) * IN_FLIGHT),
        note: "latency added per call at 16 in flight",
      },
    ];
  } finally {
    await secured.close();
    await open.close();
  }
}

if (import.meta.main) {
  console.log(formatTable(await benchSecurity()));
}
