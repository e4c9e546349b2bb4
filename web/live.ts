/**
 * The live greetings list: follows the `Greetings` server stream, reconnects with back-off when it drops, and
 * keeps each greeting once (a reconnect replays the existing ones).
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { Greeting } from "../src/gen/example/v1/greeter_pb.ts";
import type { GreeterClient } from "./client.ts";

/** Where the stream is. */
export type LiveState = "connecting" | "live" | "reconnecting";

/** The greetings seen so far, newest first, and the stream's state. */
export interface LiveGreetings {
  readonly greetings: readonly Greeting[];
  readonly state: LiveState;
}

function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** Exponential back-off with jitter, 250 ms up to 10 s. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(10_000, 250 * 2 ** Math.min(attempt, 10));
  return ceiling / 2 + Math.random() * ceiling / 2;
}

/** Follows the greetings stream while the component is mounted. */
export function useLiveGreetings(client: GreeterClient): LiveGreetings {
  const [byId, setById] = useState<ReadonlyMap<string, Greeting>>(new Map());
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    const stop = new AbortController();
    (async () => {
      let attempt = 0;
      while (!stop.signal.aborted) {
        try {
          // The server sends its headers with the first greeting, so an empty list gives no sign of life:
          // the stream counts as live once it is open, until it fails.
          setState("live");
          for await (const greeting of client.greetings({}, { signal: stop.signal })) {
            attempt = 0;
            setState("live");
            setById((current) =>
              current.has(greeting.id) ? current : new Map(current).set(greeting.id, greeting)
            );
          }
        } catch {
          // Dropped, or the server is away: reconnect below.
        }
        if (stop.signal.aborted) return;
        setState("reconnecting");
        await waitOrAbort(backoffMs(attempt++), stop.signal);
      }
    })();
    return () => stop.abort();
  }, [client]);

  const greetings = [...byId.values()].sort((a, b) => Number(b.greetedAt - a.greetedAt));
  return { greetings, state };
}
