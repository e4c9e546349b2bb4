/**
 * Real processes: two projection processes share the greeter projection's four segments over one SQLite query
 * database; `kill -9` of one → the other takes its segments once the claims expire; the final query model
 * equals a rebuild from zero.
 */
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import {
  InMemoryDeadLetterQueue,
  InMemoryDocumentStore,
  InMemoryTokenStore,
  TrackingProcessor,
} from "../../src/dendrite/mod.ts";
import { SqliteDocumentStore, SqliteEventStore, SqliteTokenStore } from "../../src/dendrite/sqlite/mod.ts";
import { GREETER_PROJECTION, greeterModel, greeterProjection } from "../../src/example/greeter/mod.ts";
import { allDocuments, appendRound, historyRegistry } from "./greeter_history.ts";

const CLAIM_TIMEOUT_MS = 1_500;
const CLAIM_INTERVAL_MS = 250;
const fixture = new URL("./fixtures/projection_process.ts", import.meta.url).pathname;

function spawn(dir: string, owner: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture, dir, owner, String(CLAIM_TIMEOUT_MS), String(CLAIM_INTERVAL_MS)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  return { child, stderr };
}

Deno.test({
  name: "two projection processes share four segments; kill -9 of one hands its segments to the other",
  sanitizeResources: true,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dendrite-procs-" });
    const events = new SqliteEventStore({ path: join(dir, "events.sqlite") });
    const sequences = new Map<string, number>();
    for (let round = 0; round < 10; round++) await appendRound(events, sequences, round);
    const tokens = new SqliteTokenStore({ path: join(dir, "query.sqlite") });
    const owners = async () => (await tokens.entries(GREETER_PROJECTION)).map((e) => e.owner ?? "-");
    const a = spawn(dir, "a");
    const b = spawn(dir, "b");
    let aAlive = true;
    try {
      await eventually(
        async () => {
          const o = await owners();
          return o.filter((x) => x === "a").length === 2 && o.filter((x) => x === "b").length === 2;
        },
        30_000,
        "a and b holding two segments each",
      );
      for (let round = 10; round < 20; round++) await appendRound(events, sequences, round);
      const midway = await events.lastToken();
      await eventually(
        async () => (await tokens.entries(GREETER_PROJECTION)).every((e) => e.token.index >= midway),
        20_000,
        "both processes caught up",
      );

      const bSegments = (await tokens.entries(GREETER_PROJECTION)).filter((e) => e.owner === "b").map((e) =>
        e.segment
      );
      b.child.kill("SIGKILL");
      const killedAt = Date.now();
      assertEquals((await b.child.status).signal, "SIGKILL");
      for (let round = 20; round < 30; round++) await appendRound(events, sequences, round);
      await eventually(
        async () => (await owners()).every((x) => x === "a"),
        20_000,
        "a owning every segment",
      );
      const takeover = Date.now() - killedAt;
      console.log(
        `takeover of segments ${bSegments} after kill -9: ${takeover} ms (claim timeout ${CLAIM_TIMEOUT_MS} ms)`,
      );
      // B's last extension was at most one interval before the kill; A notices within one more interval.
      assert(takeover <= CLAIM_TIMEOUT_MS + 2 * CLAIM_INTERVAL_MS + 1_500, `takeover took ${takeover} ms`);

      const last = await events.lastToken();
      await eventually(
        async () => (await tokens.entries(GREETER_PROJECTION)).every((e) => e.token.index >= last),
        20_000,
        "a caught up with every segment",
      );
      a.child.kill("SIGTERM");
      aAlive = false;
      assertEquals((await a.child.status).code, 0, await a.stderr);

      const rebuilt = new InMemoryDocumentStore();
      const rebuild = new TrackingProcessor(greeterProjection(greeterModel(rebuilt)), {
        eventStore: events,
        tokenStore: new InMemoryTokenStore(),
        deadLetters: new InMemoryDeadLetterQueue(),
        registry: historyRegistry,
        initialSegments: 1,
      });
      await rebuild.start();
      await rebuild.caughtUp(last, AbortSignal.timeout(10_000));
      await rebuild.stop();

      const live = new SqliteDocumentStore({ path: join(dir, "query.sqlite") });
      try {
        const expected = await allDocuments(rebuilt);
        assertEquals(expected.greetings.length, 30 * 20 - 20 / 4 * 10);
        assertEquals(expected.greeters.length, 20);
        assertEquals(await allDocuments(live), expected);
      } finally {
        live.close();
      }
    } finally {
      for (const { child } of aAlive ? [a, b] : [b]) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
      }
      await Promise.allSettled([a.child.status, b.child.status, a.stderr, b.stderr]);
      tokens.close();
      events.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
