import { assert, assertEquals } from "../../../test/assert.ts";
import { scopedSignal } from "./async.ts";

/** Resolves with the signal's reason when it aborts; fails the test after `ms`. */
function aborted(signal: AbortSignal, ms = 5_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the signal did not abort within ${ms} ms`)), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(signal.reason);
    }, { once: true });
  });
}

Deno.test("scopedSignal aborts after its timeout with a TimeoutError, as AbortSignal.timeout does", async () => {
  const scope = scopedSignal([], 10);
  const reason = await aborted(scope.signal);
  assert(reason instanceof DOMException && reason.name === "TimeoutError", String(reason));
  scope.done();
});

Deno.test("scopedSignal aborts with a parent's reason; an aborted parent aborts it at once", async () => {
  const first = new AbortController();
  const second = new AbortController();
  const scope = scopedSignal([first.signal, undefined, second.signal], 60_000);
  const whenAborted = aborted(scope.signal);
  second.abort("second went away");
  assertEquals(await whenAborted, "second went away");
  first.abort("too late");
  assertEquals(scope.signal.reason, "second went away");

  const gone = new AbortController();
  gone.abort("gone before");
  const late = scopedSignal([gone.signal], 60_000);
  assert(late.signal.aborted);
  assertEquals(late.signal.reason, "gone before");
  late.done();
});

Deno.test("after done() the scoped signal no longer follows its parents", () => {
  const parent = new AbortController();
  const scope = scopedSignal([parent.signal, new AbortController().signal]);
  scope.done();
  parent.abort("after the work");
  assert(!scope.signal.aborted, "the parent's abort reached a signal whose work had ended");
});

Deno.test("done() clears the timeout's timer", async () => {
  const scope = scopedSignal([new AbortController().signal], 10);
  scope.done();
  // Timers fire in the order of their deadlines: had the 10 ms one been left, it would have fired before this.
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert(!scope.signal.aborted, "the timeout fired after done()");
});

Deno.test("one parent and no timeout: the parent's own signal, nothing to let go of", () => {
  const parent = new AbortController();
  const scope = scopedSignal([parent.signal]);
  assert(scope.signal === parent.signal);
  scope.done();
});
