/**
 * The projection on a thread of its own (`src/example/projection_thread.ts`): the program's greeter projection
 * in a worker keeps the query model, answers queries, shows on soma's dashboard as in-process and takes its
 * actions; the supervisor relays logs and calls, restarts a worker that failed and reports one that cannot start.
 */
import { createClient } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, eventually } from "../assert.ts";
import { bearer, startTestApp } from "../api/fixture.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { GREETER_PROJECTION } from "../../src/example/greeter/mod.ts";
import { DurableHead } from "../../src/dendrite/sqlite/mod.ts";
import {
  type ProjectionThreadConfig,
  ProjectionThreadError,
  startProjectionThread,
} from "../../src/example/projection_thread.ts";
import type { LocalProcessor } from "../../src/soma/mod.ts";
import { createLogger } from "../../src/server/mod.ts";

Deno.test({
  name: "projection thread: the model follows the commands, the dashboard lists and steers it as in-process",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t = await startTestApp({ projectionThread: true });
    try {
      const greeter = createClient(GreeterService, t.transport);
      const auth = bearer(await t.adminToken());
      // A live list: its updates come from the projection in the worker, through soma.
      const live = greeter.greetings({}, { ...auth, signal: AbortSignal.timeout(20_000) })
        [Symbol.asyncIterator]();
      const first = live.next();
      for (let i = 0; i < 20; i++) await greeter.greet({ message: `thread ${i}` });
      const seen = [(await first).value?.message];
      while (seen.length < 20) seen.push((await live.next()).value?.message);
      assertEquals(seen, Array.from({ length: 20 }, (_, i) => `thread ${i}`));
      await live.return?.();
      const count = async () => {
        let found = 0;
        for await (const _ of greeter.search({ query: "thread" }, auth)) found++;
        return found;
      };
      await eventually(async () => await count() === 20, 10_000, "the 20 greetings in the query model");
      const status = await greeter.getStatus({}, auth);
      assertEquals(status.greetingCount, 20n);

      const soma = t.app.soma;
      const instance = async () =>
        (await soma.processors()).find((p) => p.name === GREETER_PROJECTION)?.instances.find((i) => i.local);
      const listed = await instance();
      assert(listed, "the projection is listed as in-process");
      assertEquals(listed.segments.length, 4);
      assertEquals(listed.deadLetters?.count, 0);

      const paused = await soma.processorAction("pause", GREETER_PROJECTION);
      assert(paused.success && paused.local?.success, JSON.stringify(paused));
      assertEquals((await instance())?.running, false);
      // Paused, the model stands still; started again, it catches up.
      await t.app.ports.commandBus.dispatch(
        create(domain.GreetCommandSchema, { greeterId: "main", message: "thread late" }),
      );
      const started = await soma.processorAction("start", GREETER_PROJECTION);
      assert(started.success, JSON.stringify(started));
      await eventually(async () => await count() === 21, 10_000, "the greeting sent while paused");
      assertEquals((await instance())?.running, true);
    } finally {
      await t.close();
    }
  },
});

/** A configuration for the scripted worker; `processorOwner` is its script. */
async function scripted(script: string): Promise<ProjectionThreadConfig> {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-thread-" });
  return {
    port: 0,
    dataDir,
    axonHost: "127.0.0.1",
    axonPort: 0,
    axonHttpPort: 0,
    axonServer: "127.0.0.1:1",
    axonToken: undefined,
    axonTlsCaFile: undefined,
    elasticsearchIndexPrefix: undefined,
    tls: undefined,
    rootKeyModule: join(dataDir, "root_key.ts"),
    processorOwner: script,
  };
}

const WORKER = new URL("../fixtures/scripted_projection_worker.ts", import.meta.url);

function recorder() {
  const lines: { level: string; record: Record<string, unknown> }[] = [];
  const logger = createLogger("debug", (level, line) => lines.push({ level, record: JSON.parse(line) }));
  return { lines, logger };
}

/** A status surface that records what is listed on it. */
function surface() {
  const listed = new Map<string, LocalProcessor>();
  return {
    listed,
    registerProcessor(processor: LocalProcessor) {
      listed.set(processor.name, processor);
      return () => listed.delete(processor.name);
    },
  };
}

Deno.test("projection thread: logs and reports cross, calls are relayed, a failed worker is started again", async () => {
  const { lines, logger } = recorder();
  const soma = surface();
  const thread = await startProjectionThread(await scripted("crash-once"), {
    head: new DurableHead(),
    logger,
    hosts: { soma },
    workerModule: WORKER,
    restartDelayMs: 10,
  });
  try {
    assert(lines.some((l) => l.record.msg === "scripted worker up" && l.record.thread === "projection"));
    await eventually(() => thread.starts === 2 && thread.running, 10_000, "the restart");
    assert(
      lines.some((l) => l.level === "error" && l.record.msg === "projection thread failure"),
      "failure logged",
    );
    assert(lines.some((l) => l.level === "warn" && l.record.msg === "projection thread restarting"));
    await eventually(() => soma.listed.has("scripted"), 10_000, "the restarted worker's processor listed");
    const processor = soma.listed.get("scripted")! as LocalProcessor & {
      merge(segment: number): Promise<boolean>;
    };
    await processor.stop!();
    assertEquals(processor.status().running, false); // the worker reported before it answered
    assertEquals(await processor.merge(0), true);
    await assertRejects(() => processor.split!(0), Error, "no split");
  } finally {
    await thread.stop();
  }
  assertEquals(soma.listed.size, 0, "taken off the surface when stopped");
});

Deno.test("projection thread: a worker that cannot start is a ProjectionThreadError with its message", async () => {
  const { logger } = recorder();
  const config = await scripted("fail");
  const error = await assertRejects(
    () => startProjectionThread(config, { head: new DurableHead(), logger, workerModule: WORKER }),
    ProjectionThreadError,
    "scripted failure",
  );
  assertEquals(error.workerStack, "at here");
});

Deno.test("projection thread: a worker that does not stop in time is ended at the deadline", async () => {
  const { lines, logger } = recorder();
  const soma = surface();
  const thread = await startProjectionThread(await scripted("deaf"), {
    head: new DurableHead(),
    logger,
    hosts: { soma },
    workerModule: WORKER,
    stopDeadlineMs: 200,
  });
  const processor = soma.listed.get("scripted");
  assert(processor?.start, "listed");
  assert(thread.running);
  await thread.stop();
  assertEquals(thread.running, false);
  assert(lines.some((l) => l.level === "warn" && l.record.msg === "projection thread did not stop in time"));
  assertEquals(soma.listed.size, 0);
  // A call after the stop fails at once instead of waiting for a worker that is gone.
  await assertRejects(() => processor.start!(), Error, "not running");
});
