import { assertEquals } from "../../../test/assert.ts";
import { readyBatches, readyPages } from "./batches.ts";

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
      if (batches.length === 2) gate.resolve();
    }
  })();
  await reading;
  assertEquals(batches, [[0, 1, 2], [3, 4], [5]]);
});

Deno.test("readyPages() joins pages that are ready back to back into batches of about max items", async () => {
  const gate = Promise.withResolvers<void>();
  async function* pages() {
    yield [0, 1];
    yield [2];
    yield [3, 4, 5];
    yield [6, 7, 8, 9, 10]; // larger than max: a batch of its own once the batch before it is full
    await gate.promise;
    yield [11];
  }
  const batches: (readonly number[])[] = [];
  for await (const batch of readyPages(pages(), 4)) {
    batches.push(batch);
    if (batches.length === 2) gate.resolve();
  }
  assertEquals(batches, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11]]);
});
