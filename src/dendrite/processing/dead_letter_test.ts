import { join } from "node:path";
import { assertEquals } from "../../../test/assert.ts";
import { type DeadLetterQueue, InMemoryDeadLetterQueue } from "./dead_letter.ts";
import { SqliteDeadLetterQueue } from "./sqlite_dead_letter.ts";

function letter(processor: string, token: number, sequenceId: string) {
  return {
    processor,
    segment: 1,
    sequenceId,
    cause: "Error: boom",
    attempts: 3,
    event: {
      id: `event-${token}`,
      token,
      timestamp: 1_700_000_000_000 + token,
      payload: { type: "example.v1.GreetedEvent", revision: "", data: new Uint8Array([10, 1, 97]) },
      metadata: { correlation_id: "c-1", n: 2 },
      aggregate: { type: "example.v1.Greeter", id: sequenceId, sequence: token },
    },
  };
}

for (
  const [adapter, open] of [
    [
      "in-memory",
      () => Promise.resolve({ queue: new InMemoryDeadLetterQueue(), close: () => Promise.resolve() }),
    ],
    ["SQLite", async () => {
      const dir = await Deno.makeTempDir({ prefix: "dendrite-dlq-" });
      const queue = new SqliteDeadLetterQueue({ path: join(dir, "letters.sqlite") });
      return {
        queue,
        async close() {
          queue.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    }],
  ] as const
) {
  Deno.test(`${adapter} DeadLetterQueue parks, lists in order, records attempts and deletes`, async () => {
    const { queue, close } =
      await (open as () => Promise<{ queue: DeadLetterQueue; close(): Promise<void> }>)();
    try {
      const first = await queue.enqueue(letter("p", 4, "agg-a"));
      await queue.enqueue(letter("p", 7, "agg-b"));
      await queue.enqueue(letter("p", 9, "agg-a"));
      await queue.enqueue(letter("other", 1, "agg-z"));
      assertEquals((await queue.list("p")).map((l) => l.event.token), [4, 7, 9]);
      assertEquals((await queue.list("p", { limit: 1, offset: 1 })).map((l) => l.event.token), [7]);
      assertEquals((await queue.sequences("p")).sort(), ["agg-a", "agg-b"]);
      assertEquals(await queue.count("p"), 3);
      const stored = (await queue.get(first.id))!;
      assertEquals(stored.event, letter("p", 4, "agg-a").event);
      assertEquals([stored.cause, stored.attempts, stored.segment], ["Error: boom", 3, 1]);
      await queue.recordAttempt(first.id, "Error: again");
      assertEquals([(await queue.get(first.id))?.cause, (await queue.get(first.id))?.attempts], [
        "Error: again",
        4,
      ]);
      assertEquals(await queue.delete(first.id), true);
      assertEquals(await queue.delete(first.id), false);
      assertEquals(await queue.get(first.id), undefined);
      assertEquals(await queue.count("p"), 2);
    } finally {
      await close();
    }
  });
}
