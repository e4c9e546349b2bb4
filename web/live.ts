/**
 * Live data from server streams: the greetings list (`Greetings`) and the greeter's status (`WatchStatus`).
 * Each follows its stream while the component is mounted and reconnects with back-off when it drops; a reconnect
 * starts with the current state again (the existing greetings, the status now).
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { Greeting } from "../src/gen/example/v1/greeter_pb.ts";
import type { GreeterClient } from "./client.ts";

/** Where a stream is. */
export type LiveState = "connecting" | "live" | "reconnecting";

/** The greetings seen so far, newest first, and the stream's state. */
export interface LiveGreetings {
  readonly greetings: readonly Greeting[];
  readonly state: LiveState;
}

/** The greeter's status as the server last said it (undefined until it did). */
export type Status = { readonly recording: boolean; readonly greetingCount: bigint };

function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** How long a reopened stream must stay open, without a message, to count as live again. */
const SETTLED_MS = 2_000;

/** Exponential back-off with jitter, 250 ms up to 10 s. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(10_000, 250 * 2 ** Math.min(attempt, 10));
  return ceiling / 2 + Math.random() * ceiling / 2;
}

/**
 * Reads `open()`'s stream into `onMessage` until `signal` aborts, reopening it with back-off when it ends or
 * fails; `onState` hears "live" while it is open and "reconnecting" while it waits.
 */
async function follow<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  onMessage: (message: T) => void,
  onState: (state: LiveState) => void,
  signal: AbortSignal,
): Promise<void> {
  let attempt = 0;
  while (!signal.aborted) {
    // A server stream with nothing to say yet gives no sign of life: the first one counts as live once it is
    // open; after a failure, once a message came or it stayed open for a while (not while attempts fail fast).
    const opened = setTimeout(() => onState("live"), attempt === 0 ? 0 : SETTLED_MS);
    try {
      for await (const message of open(signal)) {
        attempt = 0;
        onState("live");
        onMessage(message);
      }
    } catch {
      // Dropped, or the server is away: reconnect below.
    } finally {
      clearTimeout(opened);
    }
    if (signal.aborted) return;
    onState("reconnecting");
    await waitOrAbort(backoffMs(attempt++), signal);
  }
}

/** Follows the greetings stream while the component is mounted. */
export function useLiveGreetings(client: GreeterClient): LiveGreetings {
  const [byId, setById] = useState<ReadonlyMap<string, Greeting>>(new Map());
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    const stop = new AbortController();
    follow(
      (signal) => client.greetings({}, { signal }),
      (greeting) =>
        setById((current) =>
          current.has(greeting.id) ? current : new Map(current).set(greeting.id, greeting)
        ),
      setState,
      stop.signal,
    );
    return () => stop.abort();
  }, [client]);

  const greetings = [...byId.values()].sort((a, b) => Number(b.greetedAt - a.greetedAt));
  return { greetings, state };
}

/** Follows the greeter's status (recording, greeting count) while the component is mounted. */
export function useLiveStatus(client: GreeterClient): Status | undefined {
  const [status, setStatus] = useState<Status | undefined>();
  useEffect(() => {
    const stop = new AbortController();
    follow(
      (signal) => client.watchStatus({}, { signal }),
      (answer) => setStatus({ recording: answer.recording, greetingCount: answer.greetingCount }),
      () => {},
      stop.signal,
    );
    return () => stop.abort();
  }, [client]);
  return status;
}
