import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { BackOff, TooManyAttemptsError } from "./throttle.ts";
import { WorkLimit } from "./work_limit.ts";

Deno.test("BackOff doubles the wait after the free failures, caps it and clears it on success", () => {
  let now = 0;
  const backOff = new BackOff({ freeFailures: 2, baseDelayMs: 1_000, maxDelayMs: 4_000, clock: () => now });
  assertEquals([backOff.failure("k"), backOff.failure("k")], [0, 0]);
  assertEquals(backOff.failure("k"), 1_000);
  assertEquals(backOff.failure("k"), 2_000);
  assertEquals(backOff.failure("k"), 4_000);
  assertEquals(backOff.failure("k"), 4_000);
  now += 1_000;
  assertEquals(backOff.waitMs("k"), 3_000);
  assertEquals(backOff.waitMs("other"), 0);
  backOff.success("k");
  assertEquals(backOff.waitMs("k"), 0);
});

Deno.test("BackOff remembers at most maxKeys keys and forgets idle ones", () => {
  let now = 0;
  const backOff = new BackOff({ maxKeys: 3, forgetAfterMs: 10_000, clock: () => now });
  for (const key of ["a", "b", "c", "d"]) backOff.failure(key);
  assertEquals(backOff.size, 3);
  now += 70_000;
  backOff.failure("e");
  assertEquals(backOff.size, 1);
});

Deno.test("WorkLimit runs at most `concurrency` tasks, queues up to `queue` and refuses the rest", async () => {
  const limit = new WorkLimit({ concurrency: 1, queue: 1 });
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const first = limit.run(() => gate.then(() => 1));
  const second = limit.run(() => Promise.resolve(2));
  const error = await assertRejects(() => limit.run(() => Promise.resolve(3)), TooManyAttemptsError);
  assertEquals(error.retryAfterSeconds, 1);
  assertEquals([limit.active, limit.waiting], [1, 1]);
  release();
  assertEquals(await Promise.all([first, second]), [1, 2]);
  assertEquals([limit.active, limit.waiting], [0, 0]);
});
