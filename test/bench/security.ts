/**
 * Security benchmark: authenticated Stop/Record throughput over gRPC next to the same calls without the auth
 * interceptor, in one run, and the JWT verification cost per request; Greet p99 while another process floods
 * Login with 16 clients (production scrypt cost), with the bound on password checks and without it.
 *
 * `deno run -A test/bench/security.ts` prints the rows.
 *
 * @module
 */
import { DEFAULT_SCRYPT } from "../../src/dendrite/security/mod.ts";
import type { LoginLimitOptions } from "../../src/example/security/mod.ts";
import { spawnReady } from "../child.ts";
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

    const flood = await benchLoginFlood();
    return [
      ...flood,
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

const GREETS = 1_000;
const FLOOD_CLIENTS = "16";

/** Greet p99 (8 in flight) before and during a Login flood from another process. */
async function greetUnderFlood(login?: LoginLimitOptions): Promise<{ unloaded: number; loaded: number }> {
  const f = await startSecurityFixture({ scrypt: DEFAULT_SCRYPT, login });
  try {
    const greet = () => f.greeter.greet({ message: "hello" });
    await measure(200, 8, greet);
    const unloaded = await measure(GREETS, 8, greet);
    const { child } = await spawnReady(new URL("./login_flood.ts", import.meta.url), {
      args: [f.grpcUrl, "admin", f.adminPassword!, FLOOD_CLIENTS],
    });
    try {
      await measure(100, 8, greet); // the flood is under way
      const loaded = await measure(GREETS, 8, greet);
      return { unloaded: unloaded.p99, loaded: loaded.p99 };
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  } finally {
    await f.close();
  }
}

async function benchLoginFlood(): Promise<BenchRow[]> {
  const bounded = await greetUnderFlood();
  const unbounded = await greetUnderFlood({ work: { concurrency: 16, queue: 1_000 } });
  const row = (name: string, r: { unloaded: number; loaded: number }, target?: boolean): BenchRow => ({
    scenario: `security: Greet p99 under a 16-client Login flood (other process), ${name}`,
    metric: "p99 ms",
    value: r.loaded,
    limit: { name: "Greet p99 without the flood", value: r.unloaded },
    ...(target ? { target: "< 2× unloaded", met: r.loaded < 2 * r.unloaded } : {}),
    note: "scrypt logN 15; Greet 8 in flight, client in the server's process",
  });
  return [
    row("password checks bounded (1 at a time, queue 16)", bounded, true),
    row("unbounded (for comparison)", unbounded),
  ];
}

if (import.meta.main) {
  console.log(formatTable(await benchSecurity()));
}
