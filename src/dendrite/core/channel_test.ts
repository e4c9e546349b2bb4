import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { Channel, ChannelOverflowError } from "./channel.ts";

Deno.test("Channel: a waiting consumer gets what is pushed, in order, then the end", async () => {
  const channel = new Channel<number>();
  channel.push(0);
  const items = channel.iterate()[Symbol.asyncIterator]();
  assertEquals((await items.next()).value, 0);
  const waiting = items.next();
  channel.push(1);
  channel.push(2);
  channel.close();
  assertEquals((await waiting).value, 1);
  assertEquals((await items.next()).value, 2);
  assertEquals((await items.next()).done, true);
});

Deno.test("Channel: one by one in order; a failure comes after the queued items; overflow fails the channel", async () => {
  const channel = new Channel<string>(2);
  channel.push("a");
  channel.push("b");
  channel.fail(new Error("broken"));
  const seen: string[] = [];
  await assertRejects(
    async () => {
      for await (const item of channel) seen.push(item);
    },
    Error,
    "broken",
  );
  assertEquals(seen, ["a", "b"]);

  const small = new Channel<number>(1);
  small.push(1);
  small.push(2);
  await assertRejects(async () => {
    for await (const _ of small) { /* drain */ }
  }, ChannelOverflowError);
});

Deno.test("Channel: aborting the signal ends a waiting consumer with the signal's reason", async () => {
  const channel = new Channel<number>();
  const controller = new AbortController();
  const reading = (async () => {
    for await (const _ of channel.iterate(controller.signal)) { /* nothing arrives */ }
  })();
  controller.abort(new Error("stop reading"));
  await assertRejects(() => reading, Error, "stop reading");
});
