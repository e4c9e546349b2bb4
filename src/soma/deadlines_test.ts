import { assert, assertEquals } from "../../test/assert.ts";
import { Deadlines } from "./deadlines.ts";

/** Resolves with the time `fire` was called, for each of `n` deadlines. */
function recorder(n: number) {
  const fired: { index: number; at: number }[] = [];
  const all = Promise.withResolvers<void>();
  const fire = (index: number) => () => {
    fired.push({ index, at: performance.now() });
    if (fired.length === n) all.resolve();
  };
  return { fired, fire, all: all.promise };
}

Deno.test("Deadlines: a thousand deadlines of one timeout share one timer; cancelled ones never fire", async () => {
  const deadlines = new Deadlines();
  const { fired, fire, all } = recorder(500);
  const set = performance.now();
  const handles = Array.from({ length: 1_000 }, (_, i) => deadlines.after(30, fire(i)));
  assertEquals([deadlines.size, deadlines.timers, deadlines.lanes], [1_000, 1, 1]);
  for (let i = 0; i < 1_000; i += 2) handles[i].cancel(); // every even one ended in time
  handles[0].cancel(); // twice: nothing happens
  assertEquals(deadlines.size, 500);
  await all;
  assertEquals(
    fired.map((f) => f.index),
    Array.from({ length: 500 }, (_, i) => 2 * i + 1),
    "odd ones, in order",
  );
  assert(fired.every((f) => f.at - set >= 29), "none before its time");
  assertEquals([deadlines.size, deadlines.timers, deadlines.lanes], [0, 0, 0], "nothing left behind");
});

Deno.test("Deadlines: a shorter timeout set later fires first; each value has its own timer", async () => {
  const deadlines = new Deadlines();
  const { fired, fire, all } = recorder(2);
  deadlines.after(80, fire(0));
  deadlines.after(10, fire(1));
  assertEquals([deadlines.timers, deadlines.lanes], [2, 2]);
  await all;
  assertEquals(fired.map((f) => f.index), [1, 0]);
});

Deno.test("Deadlines: when the earliest is cancelled, the next fires at its own time, not at the earlier one", async () => {
  const deadlines = new Deadlines();
  const { fired, fire, all } = recorder(1);
  const first = deadlines.after(40, () => {
    throw new Error("cancelled: must not fire");
  });
  await new Promise((resolve) => setTimeout(resolve, 25));
  const set = performance.now();
  deadlines.after(40, fire(1)); // due 25 ms after the first one would have been
  first.cancel();
  await all;
  assert(fired[0].at - set >= 39, `fired ${fired[0].at - set} ms after it was set`);
  assertEquals(deadlines.size, 0);
});

Deno.test("Deadlines: a deadline set while another fires is kept", async () => {
  const deadlines = new Deadlines();
  const { fired, fire, all } = recorder(2);
  deadlines.after(10, () => {
    fire(0)();
    deadlines.after(10, fire(1));
  });
  await all;
  assertEquals(fired.map((f) => f.index), [0, 1]);
  assertEquals(deadlines.lanes, 0);
});
