/**
 * The assertions the tests use, on top of `node:assert/strict` (jsr:@std/assert is unavailable here).
 *
 * @module
 */
import { AssertionError, deepStrictEqual, ok } from "node:assert/strict";

export { AssertionError };

/** Asserts a truthy condition. */
export function assert(condition: unknown, message?: string): asserts condition {
  // Two spellings: some @types/node versions (pulled in by npm packages) have no `string | undefined` overload.
  if (message === undefined) ok(condition);
  else ok(condition, message);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) deepStrictEqual(actual, expected);
  else deepStrictEqual(actual, expected, message);
}

/** Asserts that `fn` rejects (with an instance of `ErrorClass`, when given) and returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => E,
  messagePart?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (ErrorClass && !(error instanceof ErrorClass)) {
      throw new AssertionError({ message: `Expected a ${ErrorClass.name}, got ${String(error)}` });
    }
    if (messagePart && !(error instanceof Error && error.message.includes(messagePart))) {
      throw new AssertionError({
        message: `Expected the message to contain "${messagePart}", got ${String(error)}`,
      });
    }
    return error as E;
  }
  throw new AssertionError({ message: "Expected the call to reject, it resolved" });
}

/** Asserts that `fn` throws synchronously and returns the error. */
export function assertThrows(fn: () => unknown, messagePart?: string): Error {
  try {
    fn();
  } catch (error) {
    if (messagePart && !(error instanceof Error && error.message.includes(messagePart))) {
      throw new AssertionError({
        message: `Expected the message to contain "${messagePart}", got ${String(error)}`,
      });
    }
    return error as Error;
  }
  throw new AssertionError({ message: "Expected the call to throw" });
}

/** Polls `condition` (every 10 ms) until it holds or `timeoutMs` passes; for conditions reached by other processes. */
export async function eventually(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new AssertionError({ message: `Timed out after ${timeoutMs} ms waiting for ${what}` });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Resolves with `promise`, or fails after `ms` naming what it waited for (`what` is read only then, so it can
 * describe the state at the time).
 */
export function within<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const waited = typeof what === "string" ? what : what();
      reject(new AssertionError({ message: `Timed out after ${ms} ms waiting for ${waited}` }));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
