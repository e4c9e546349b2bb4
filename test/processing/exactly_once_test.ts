/**
 * Exactly-once projection where the token and the model share a SQLite database: a process killed right after a
 * unit of work committed (between the model write and where the token used to be written) and restarted counts
 * every event once. Without `tokenInUnitOfWork` the same kill makes the restart handle the batch again.
 */
import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { type EventRecord, MessageRegistry } from "../../src/dendrite/mod.ts";
import { SqliteEventStore } from "../../src/dendrite/sqlite/mod.ts";
import { GreetedEventSchema } from "../../src/gen/example/v1/domain_pb.ts";
import { spawnReady } from "../child.ts";

const fixture = new URL("./fixtures/counting_process.ts", import.meta.url);
const EVENTS = 100;

async function seed(dir: string): Promise<number> {
  const registry = new MessageRegistry([GreetedEventSchema]);
  const store = new SqliteEventStore({ path: join(dir, "events.sqlite") });
  const events: EventRecord[] = Array.from({ length: EVENTS }, (_, i) => ({
    id: crypto.randomUUID(),
    timestamp: 1_700_000_000_000 + i,
    payload: registry.encode(create(GreetedEventSchema, { greeterId: `g-${i % 10}`, message: `m${i}` })),
    metadata: {},
    aggregate: { type: "example.v1.Greeter", id: `g-${i % 10}`, sequence: Math.floor(i / 10) },
  }));
  const { lastToken } = await store.append(events);
  store.close();
  return lastToken;
}

/** Kills the counting process after its first committed unit, restarts it, returns the final count. */
async function countAcrossKill(inUnit: "yes" | "no"): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-exactly-once-" });
  const last = await seed(dir);
  const killed = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture.pathname, dir, inUnit, "1", String(last)],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  assertEquals((await killed.status).signal, "SIGKILL", "the hook killed the process after its first unit");
  const restarted = await spawnReady(fixture, { args: [dir, inUnit, "0", String(last)] });
  try {
    return Number(/^caught up (\d+)$/.exec(restarted.line)?.[1]);
  } finally {
    restarted.child.kill("SIGTERM");
    await restarted.child.status;
  }
}

Deno.test("tokenInUnitOfWork: a kill right after a committed batch loses nothing and counts nothing twice", async () => {
  assertEquals(await countAcrossKill("yes"), EVENTS);
});

Deno.test("without it, the same kill redelivers the committed batch (at-least-once, the reason for the option)", async () => {
  const count = await countAcrossKill("no");
  assertEquals(count > EVENTS, true, `counted ${count}`);
});
