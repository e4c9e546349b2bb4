/**
 * Real processes on a real Elasticsearch (skipped without ELASTICSEARCH_URL): two projection processes share the
 * greeter projection's four segments through the Elasticsearch token store; `kill -9` of one → the other takes
 * its segments once the claims expire; a restarted process resumes from the stored tokens (it handles only the
 * new events); the final query model equals a rebuild from zero; a reset replays into a cleared index.
 */
import { Client } from "@elastic/elasticsearch";
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import {
  InMemoryDeadLetterQueue,
  InMemoryDocumentStore,
  InMemoryTokenStore,
  TrackingProcessor,
} from "../../src/dendrite/mod.ts";
import { SqliteEventStore } from "../../src/dendrite/sqlite/mod.ts";
import { ElasticsearchDocumentStore, ElasticsearchTokenStore } from "../../src/dendrite/elasticsearch/mod.ts";
import { GREETER_PROJECTION, greeterModel, greeterProjection } from "../../src/example/greeter/mod.ts";
import { allDocuments, appendRound, historyRegistry } from "../processing/greeter_history.ts";

const url = Deno.env.get("ELASTICSEARCH_URL");
const skip = url ? false : "ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)";
if (skip) console.log(`Skipping the multi-process tests on Elasticsearch: ${skip}`);

const CLAIM_TIMEOUT_MS = 2_000;
const CLAIM_INTERVAL_MS = 300;
const fixture = new URL("./fixtures/projection_process.ts", import.meta.url).pathname;

/** A projection process; `handled()` is the last count of events it reported handling since it started. */
function spawn(dir: string, owner: string, prefix: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture, dir, owner, String(CLAIM_TIMEOUT_MS), String(CLAIM_INTERVAL_MS), prefix],
    env: { ELASTICSEARCH_URL: url! },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let handled = 0;
  const stdout = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      for (const match of chunk.matchAll(/handled (\d+)/g)) handled = Number(match[1]);
    }
  })();
  const stderr = new Response(child.stderr).text();
  return { owner, child, stderr, stdout, handled: () => handled };
}

Deno.test({
  name: "Elasticsearch: two projection processes share segments, survive kill -9, resume, replay",
  ignore: Boolean(skip),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dendrite-es-procs-" });
    const prefix = `dendrite-test-${crypto.randomUUID().slice(0, 8)}-`;
    const client = new Client({ node: url! });
    const events = new SqliteEventStore({ path: join(dir, "events.sqlite") });
    const tokens = new ElasticsearchTokenStore({ client, index: `${prefix}tokens` });
    const entries = () => tokens.entries(GREETER_PROJECTION);
    const owners = async () => (await entries()).map((e) => e.owner ?? "-");
    const caughtUp = async (token: number) => (await entries()).every((e) => e.token.index >= token);
    const sequences = new Map<string, number>();
    const children: ReturnType<typeof spawn>[] = [];
    const start = (owner: string) => {
      const process = spawn(dir, owner, prefix);
      children.push(process);
      return process;
    };
    try {
      for (let round = 0; round < 10; round++) await appendRound(events, sequences, round);
      const a = start("a");
      const b = start("b");
      await eventually(
        async () => {
          const o = await owners();
          return o.length === 4 && o.filter((x) => x === "a").length === 2 &&
            o.filter((x) => x === "b").length === 2;
        },
        60_000,
        "a and b holding two segments each",
      );
      for (let round = 10; round < 20; round++) await appendRound(events, sequences, round);
      const midway = await events.lastToken();
      await eventually(() => caughtUp(midway), 60_000, "both processes caught up");
      assert(a.handled() > 0 && b.handled() > 0, `a handled ${a.handled()}, b ${b.handled()}`);

      b.child.kill("SIGKILL");
      const killedAt = Date.now();
      assertEquals((await b.child.status).signal, "SIGKILL");
      for (let round = 20; round < 30; round++) await appendRound(events, sequences, round);
      await eventually(
        async () => (await owners()).every((x) => x === "a"),
        60_000,
        "a owning every segment",
      );
      const takeover = Date.now() - killedAt;
      console.log(`takeover after kill -9: ${takeover} ms (claim timeout ${CLAIM_TIMEOUT_MS} ms)`);
      // B's last extension was at most one interval before the kill; A notices within one more interval; the
      // rest is slack for a loaded machine (claims are stamped by the processes' clocks, checked by requests).
      assert(takeover <= CLAIM_TIMEOUT_MS + 2 * CLAIM_INTERVAL_MS + 5_000, `takeover took ${takeover} ms`);
      const last = await events.lastToken();
      await eventually(() => caughtUp(last), 60_000, "a caught up with every segment");
      a.child.kill("SIGTERM");
      assertEquals((await a.child.status).code, 0, await a.stderr);

      // A restart resumes from the stored tokens: it handles the 20 new events, not the 600 before them.
      const c = start("c");
      await eventually(
        async () => (await owners()).every((x) => x === "c"),
        60_000,
        "c owning every segment",
      );
      await appendRound(events, sequences, 30);
      const end = await events.lastToken();
      await eventually(() => caughtUp(end), 60_000, "c caught up");
      c.child.kill("SIGTERM");
      assertEquals((await c.child.status).code, 0, await c.stderr);
      await c.stdout;
      assertEquals(c.handled(), 20, "the restarted process handled only the new events");

      const rebuilt = new InMemoryDocumentStore();
      const rebuild = new TrackingProcessor(greeterProjection(greeterModel(rebuilt)), {
        eventStore: events,
        tokenStore: new InMemoryTokenStore(),
        deadLetters: new InMemoryDeadLetterQueue(),
        registry: historyRegistry,
        initialSegments: 1,
      });
      await rebuild.start();
      await rebuild.caughtUp(end, AbortSignal.timeout(10_000));
      await rebuild.stop();
      const expected = await allDocuments(rebuilt, 10_000);
      assertEquals(expected.greetings.length, 31 * 20 - 20 / 4 * 10);
      assertEquals(expected.greeters.length, 20);
      const live = new ElasticsearchDocumentStore({ client, indexPrefix: prefix });
      assertEquals(await allDocuments(live, 10_000), expected);

      // Reset: the index is cleared (a stray document goes) and rebuilt from zero, every greeting rewritten.
      const someId = expected.greetings[0][0];
      const versionOf = async (id: string) =>
        (await client.get({ index: `${prefix}greetings`, id }))._version;
      const before = await versionOf(someId);
      await live.collection("greetings").put("stray", { message: "not from an event" });
      const replayer = new TrackingProcessor(greeterProjection(greeterModel(live)), {
        eventStore: events,
        tokenStore: tokens,
        deadLetters: new InMemoryDeadLetterQueue(),
        registry: historyRegistry,
        owner: "replayer",
        initialSegments: 4,
      });
      await replayer.reset();
      await replayer.start();
      await replayer.caughtUp(end, AbortSignal.timeout(60_000));
      await replayer.stop();
      assertEquals(await allDocuments(live, 10_000), expected);
      assert((await versionOf(someId))! > before!, "the greeting was written again by the replay");
    } finally {
      for (const { child } of children) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
      }
      await Promise.allSettled(children.flatMap((c) => [c.child.status, c.stderr, c.stdout]));
      events.close();
      await client.indices.delete({
        index: ["greetings", "greeters", "tokens"].map((n) => `${prefix}${n}`),
        ignore_unavailable: true,
      });
      await client.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
