/**
 * A slow processor instruction does not stall the connector's platform stream (real soma over gRPC): while one
 * processor's merge runs, heartbeats keep being acknowledged on time, instructions for other processors are
 * handled, and the processor's own later instructions wait for the merge (in order).
 */
import { AxonConnection, type ManagedProcessor } from "../../src/dendrite/axon/mod.ts";
import type { ProcessorStatus } from "../../src/dendrite/mod.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { assert, assertEquals, eventually, within } from "../assert.ts";
import { exampleRegistry } from "./fixture.ts";

/** A processor that records what it was told; its merge waits until the test lets it finish. */
function recordingProcessor(name: string, mergeGate?: Promise<void>) {
  const calls: string[] = [];
  const mergeStarted = Promise.withResolvers<void>();
  const processor: ManagedProcessor = {
    name,
    status: (): ProcessorStatus => ({
      name,
      owner: "test",
      mode: "Tracking",
      running: true,
      error: false,
      claimLimit: 1,
      members: 1,
      deadLettered: 0,
      errors: 0,
      segments: [0, 1].map((segment) => ({
        segment,
        mask: 1,
        onePartOf: 2,
        position: -1,
        caughtUp: true,
        replaying: false,
      })),
    }),
    pause: () => Promise.resolve(calls.push("pause")),
    start: () => Promise.resolve(calls.push("start")),
    merge: async (segment) => {
      calls.push(`merge ${segment} started`);
      mergeStarted.resolve();
      await mergeGate;
      calls.push(`merge ${segment} done`);
      return true;
    },
  };
  return { processor, calls, mergeStarted: mergeStarted.promise };
}

Deno.test({
  name:
    "connector → soma: a slow merge keeps heartbeats on time and other instructions flowing; its own wait",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "soma-slow-instruction-" });
    const soma = await startSoma({
      dataDir,
      port: 0,
      httpPort: false,
      registry: exampleRegistry(),
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 1_000,
      instructionTimeoutMs: 30_000,
    });
    const heartbeat = { intervalMs: 100, timeoutMs: 400 };
    const states: string[] = [];
    const connection = await AxonConnection.connect({
      address: `127.0.0.1:${soma.port}`,
      componentName: "slow-instruction",
      heartbeat,
      processorInfoIntervalMs: 50,
      onStateChange: (state) => states.push(state),
    }, AbortSignal.timeout(10_000));
    const release = Promise.withResolvers<void>();
    const slow = recordingProcessor("slow", release.promise);
    const other = recordingProcessor("other");
    const unregister = [
      connection.registerProcessor(slow.processor),
      connection.registerProcessor(other.processor),
    ];
    try {
      await eventually(
        async () => (await soma.processors()).filter((p) => p.instances.length === 1).length === 2,
        10_000,
        "both processors' status reports",
      );
      const merge = soma.processorAction("merge", "slow", 0);
      await within(slow.mergeStarted, 10_000, "the merge to start");
      const blockedSince = Date.now();
      const startAfterMerge = soma.processorAction("start", "slow");
      // Round trips through the read loop, for three times as long as the connector's heartbeat deadline.
      let roundTrips = 0;
      while (Date.now() - blockedSince < 3 * (heartbeat.intervalMs + heartbeat.timeoutMs)) {
        const outcome = await soma.processorAction(roundTrips % 2 === 0 ? "pause" : "start", "other");
        assert(outcome.success, JSON.stringify(outcome));
        roundTrips++;
      }
      assert(roundTrips >= 2, `${roundTrips} round trips`);
      assertEquals(states, ["connected"], "no reconnect while the merge ran");
      assertEquals(slow.calls, ["merge 0 started"], "the slow processor's start waits for its merge");
      assertEquals((await soma.status()).clients.map((c) => c.clientId), [connection.clientId]);

      release.resolve();
      assert((await merge).success);
      assert((await startAfterMerge).success);
      assertEquals(slow.calls, ["merge 0 started", "merge 0 done", "start"]);
      assertEquals(states, ["connected"]);
    } finally {
      release.resolve();
      for (const stop of unregister) stop();
      await connection.close();
      await soma.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
