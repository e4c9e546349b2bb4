import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { ManualClock } from "./manual_clock.ts";

Deno.test("ManualClock wakes sleepers at their own times, earliest first, never early", async () => {
  const clock = new ManualClock(100);
  const woke: [string, number][] = [];
  const sleep = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push([name, clock.now()]));
  const all = Promise.all([sleep("late", 30), sleep("early", 10), sleep("same-time-second", 10)]);
  await clock.advance(9);
  assertEquals([woke, clock.now(), clock.sleeping], [[], 109, 3]);
  await clock.advance(100);
  await all;
  assertEquals(woke, [["early", 110], ["same-time-second", 110], ["late", 130]]);
  assertEquals([clock.now(), clock.sleeping], [209, 0]);
});

Deno.test("ManualClock runs what a wake-up starts before the next sleeper wakes (a timer loop)", async () => {
  const clock = new ManualClock();
  const ticks: number[] = [];
  const controller = new AbortController();
  const loop = (async () => {
    while (!controller.signal.aborted) {
      await clock.sleep(40, controller.signal).catch(() => undefined);
      ticks.push(clock.now());
    }
  })();
  await clock.advance(130);
  assertEquals(ticks, [40, 80, 120]);
  controller.abort();
  await loop;
});

Deno.test("ManualClock: an aborted sleep rejects with the reason and is forgotten", async () => {
  const clock = new ManualClock();
  const controller = new AbortController();
  const sleeping = clock.sleep(1_000, controller.signal);
  controller.abort(new Error("stopped"));
  await assertRejects(() => sleeping, Error, "stopped");
  assertEquals(clock.sleeping, 0);
  await assertRejects(() => clock.sleep(1, controller.signal), Error, "stopped");
});
