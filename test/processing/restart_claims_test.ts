/**
 * A program process killed with `kill -9` and restarted on the same data directory takes its own segments back at
 * once: its claim owner is stable across restarts, so it does not wait for its previous claims to expire. The claim
 * timeout is a minute here; new events must reach the query side within a few seconds of the restart.
 */
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import { SqliteTokenStore } from "../../src/dendrite/sqlite/mod.ts";
import { GREETER_PROJECTION } from "../../src/example/greeter/mod.ts";
import { PROJECTION_SEGMENTS } from "../../src/example/wiring.ts";
import { append, Greeters, openQueryModel, startProgramProcess } from "./program.ts";

const CLAIM_TIMEOUT_MS = 60_000;

Deno.test({
  name: "a restarted program reclaims its own segments at once (no wait for its old claims to expire)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-reclaim-" });
    const env = { PROCESSOR_CLAIM_TIMEOUT_MS: String(CLAIM_TIMEOUT_MS) };
    const greeters = new Greeters();
    const model = () => openQueryModel(dataDir);
    const first = await startProgramProcess("first", dataDir, env);
    let second: Awaited<ReturnType<typeof startProgramProcess>> | undefined;
    try {
      const before = greeters.greeted("g-1", "before the crash");
      await append(first.grpcPort, [before]);
      const reader = model();
      try {
        await eventually(
          async () => (await reader.greeting(before.messageIdentifier)) !== undefined,
          20_000,
          "the first greeting on the query side",
        );
      } finally {
        reader.close();
      }
      assertEquals((await first.process.stop("SIGKILL")).signal, "SIGKILL");

      const tokens = new SqliteTokenStore({ path: join(dataDir, "query.sqlite") });
      const claimed = await tokens.entries(GREETER_PROJECTION);
      assertEquals(claimed.length, PROJECTION_SEGMENTS);
      const owner = claimed[0].owner;
      assert(owner !== undefined && claimed.every((e) => e.owner === owner), "one owner held every segment");

      second = await startProgramProcess("second", dataDir, env);
      const restartedAt = Date.now();
      const after = [greeters.greeted("g-1", "after the crash"), greeters.greeted("g-2", "a new greeter")];
      await append(second.grpcPort, after);
      const again = model();
      try {
        // Well within the claim timeout: only an immediate reclaim gets here in time.
        await eventually(
          async () => {
            for (const event of after) if (!(await again.greeting(event.messageIdentifier))) return false;
            return true;
          },
          5_000,
          "the new greetings on the query side after the restart",
        );
      } finally {
        again.close();
      }
      const elapsed = Date.now() - restartedAt;
      const reclaimed = await tokens.entries(GREETER_PROJECTION);
      assert(reclaimed.every((e) => e.owner === owner), `segments owned by ${reclaimed.map((e) => e.owner)}`);
      assert(
        reclaimed.every((e) => e.claimedAt >= restartedAt - 1_000),
        "every claim renewed by the restart",
      );
      console.log(
        `query side up to date ${elapsed} ms after the restart (claim timeout ${CLAIM_TIMEOUT_MS} ms)`,
      );
      tokens.close();
    } finally {
      await first.process.stop("SIGKILL");
      await second?.process.stop();
    }
  },
});
