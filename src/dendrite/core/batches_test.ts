import { assertEquals } from "../../../test/assert.ts";
import { readyBatches } from "./batches.ts";

Deno.test("readyBatches() fills batches from ready items and cuts them when the source waits", async () => {
  const gate = Promise.withResolvers<void>();
  async function* source() {
    for (let i = 0; i < 5; i++) yield i;
    await gate.promise;
    yield 5;
  }
  const batches: number[][] = [];
  const reading = (async () => {
    for await (const batch of readyBatches(source(), 3)) {
      batches.push(batch);
      if (batches.length === 2) setTimeout(() => gate.resolve(), 5);
    }
  })();
  await reading;
  assertEquals(batches, [[0, 1, 2], [3, 4], [5]]);
});
