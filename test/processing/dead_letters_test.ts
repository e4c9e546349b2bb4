/**
 * Dead letters on real processes: the program parks a poison event (a payload revision it cannot read) with the
 * later events of its aggregate queued behind it, durably; `GET /v1/processors` shows them; a `kill -9` and a
 * restart keep them parked (new events of that aggregate queue behind, other aggregates flow); once the fix is
 * deployed (an upcaster), a retry over soma's HTTP API handles the whole sequence in order; an eviction drops a
 * poison head and handles what was queued behind it.
 */
import { assert, assertEquals, eventually } from "../assert.ts";
import type { DeadLetterSummary } from "../../src/dendrite/mod.ts";
import { GREETER_PROJECTION } from "../../src/example/greeter/mod.ts";
import type { ProcessorView } from "../../src/soma/mod.ts";
import {
  append,
  Greeters,
  LEGACY_REVISION,
  openQueryModel,
  type RunningProgram,
  somaHeaders,
  startProgramProcess,
} from "./program.ts";

const fixedProgram = new URL("./fixtures/program_with_upcaster.ts", import.meta.url).pathname;

function legacy(greeterId: string, message: string) {
  return {
    revision: LEGACY_REVISION,
    data: new TextEncoder().encode(JSON.stringify({ greeterId, message })),
  };
}

async function deadLetters(
  program: RunningProgram,
): Promise<{ error: boolean; letters?: DeadLetterSummary }> {
  const response = await fetch(`http://127.0.0.1:${program.httpPort}/v1/processors`, {
    headers: somaHeaders,
  });
  const views = await response.json() as ProcessorView[];
  const instance = views.find((v) => v.name === GREETER_PROJECTION)?.instances.find((i) => i.local);
  return { error: instance?.error ?? false, letters: instance?.deadLetters };
}

async function act(program: RunningProgram, processor: string, sequence: string, action: "retry" | "evict") {
  const response = await fetch(
    `http://127.0.0.1:${program.httpPort}/v1/processors/${encodeURIComponent(processor)}/dead-letters/${
      encodeURIComponent(sequence)
    }/${action}`,
    { method: "POST", headers: somaHeaders },
  );
  return { status: response.status, body: await response.json() };
}

Deno.test({
  name: "dead letters: durable, visible, sequenced per aggregate, retried in order after a fix, evicted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-dead-letters-" });
    const greeters = new Greeters();
    const model = openQueryModel(dataDir);
    const visible = async (event: { messageIdentifier: string }) =>
      (await model.greeting(event.messageIdentifier)) !== undefined;
    const programs: RunningProgram[] = [];
    try {
      const first = await startProgramProcess("first", dataDir);
      programs.push(first);
      const ok = greeters.greeted("g-1", "ok");
      const poison = greeters.greeted("g-1", "poison", legacy("g-1", "fixed later"));
      const held = greeters.greeted("g-1", "held behind the poison");
      const poison3 = greeters.greeted("g-3", "poison", legacy("g-3", "never shown"));
      const behind3 = greeters.greeted("g-3", "behind the evicted one");
      const other = greeters.greeted("g-2", "another aggregate");
      await append(first.grpcPort, [ok, poison, held, poison3, behind3, other]);

      await eventually(async () => (await deadLetters(first)).letters?.count === 4, 20_000, "4 dead letters");
      const shown = await deadLetters(first);
      assert(shown.error, "a processor with dead letters reports an error");
      assertEquals(
        shown.letters!.sequences.map((
          s,
        ) => [s.sequenceId, s.letters, s.head.eventId, s.head.payloadRevision]),
        [["g-1", 2, poison.messageIdentifier, LEGACY_REVISION], [
          "g-3",
          2,
          poison3.messageIdentifier,
          LEGACY_REVISION,
        ]],
      );
      assert(
        shown.letters!.sequences[0].head.cause.startsWith("SerializationError"),
        shown.letters!.sequences[0].head.cause,
      );
      await eventually(async () => await visible(ok) && await visible(other), 20_000, "the healthy events");
      assert(!await visible(held), "an event queued behind a dead letter is not handled");

      // Not fixed yet: the head fails again and stays parked.
      const early = await act(first, GREETER_PROJECTION, "g-1", "retry");
      assertEquals([early.status, early.body.handled, early.body.remaining], [409, 0, 2]);
      assert(String(early.body.error).startsWith("SerializationError"), early.body.error);
      const page = await (await fetch(`http://127.0.0.1:${first.httpPort}/dashboard.js`)).text();
      assert(
        page.includes("Dead letters") && page.includes("/dead-letters/"),
        "the dashboard has the dead-letter view",
      );

      assertEquals((await first.process.stop("SIGKILL")).signal, "SIGKILL");
      const second = await startProgramProcess("second", dataDir, {}, { script: fixedProgram });
      programs.push(second);
      const letters = await deadLetters(second);
      assertEquals(letters.letters?.count, 4, "the letters survived the kill");
      const later = greeters.greeted("g-1", "later, same aggregate");
      const other2 = greeters.greeted("g-2", "another aggregate again");
      await append(second.grpcPort, [later, other2]);
      await eventually(
        async () => (await deadLetters(second)).letters?.count === 5,
        20_000,
        "the later event queued",
      );
      await eventually(() => visible(other2), 20_000, "the other aggregate's new event");
      assert(!await visible(held) && !await visible(later), "g-1 stays parked after the restart");

      const retried = await act(second, GREETER_PROJECTION, "g-1", "retry");
      assertEquals([retried.status, retried.body.handled, retried.body.remaining], [200, 3, 0]);
      for (const event of [poison, held, later]) {
        assert(await visible(event), "g-1's events handled on retry");
      }
      assertEquals((await model.greeting(poison.messageIdentifier))?.message, "fixed later");
      const g1 = await model.greeter("g-1");
      assertEquals([g1?.greetingCount, g1?.sequence], [4, 3], "g-1's events applied in order");

      const evicted = await act(second, GREETER_PROJECTION, "g-3", "evict");
      assertEquals([evicted.status, evicted.body.evicted, evicted.body.handled], [200, 1, 1]);
      assert(
        await visible(behind3) && !await visible(poison3),
        "the evicted head is dropped, the rest handled",
      );
      const after = await deadLetters(second);
      assertEquals([after.letters?.count, after.error], [0, false]);

      const flowing = greeters.greeted("g-1", "flows again");
      await append(second.grpcPort, [flowing]);
      await eventually(() => visible(flowing), 20_000, "g-1 flowing again");
      const unknown = await act(second, "no-such-processor", "g-1", "retry");
      assertEquals(unknown.status, 404);
    } finally {
      model.close();
      for (const program of programs) await program.process.stop();
    }
  },
});
