/**
 * Load for the fault tests: clients that greet through the API with an idempotency key each and retry ambiguous
 * failures with the same key until a deadline, and a reader of the greetings soma stored.
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { GreetedEventSchema } from "../../src/gen/example/v1/domain_pb.ts";
import type { Event } from "../../src/gen/axon/event_pb.ts";
import { collect, events, RawClient } from "../soma/raw_client.ts";

/** Failures after which a command may or may not have been stored: the client retries with the same key. */
const AMBIGUOUS = new Set([
  Code.Unavailable,
  Code.Unknown,
  Code.Internal,
  Code.DeadlineExceeded,
  Code.Aborted,
  Code.Canceled,
]);

/** The API the clients talk to; swapped when the program restarts on another port. */
export class ApiEndpoint {
  #baseUrl = "";
  #sessions: Http2SessionManager | undefined;
  #client: ReturnType<typeof createClient<typeof GreeterService>> | undefined;

  /** Points the clients at `baseUrl` (closing the old session). */
  set(baseUrl: string): void {
    this.#sessions?.abort();
    this.#baseUrl = baseUrl;
    this.#sessions = new Http2SessionManager(baseUrl);
    this.#client = createClient(
      GreeterService,
      createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: this.#sessions }),
    );
  }

  get client(): ReturnType<typeof createClient<typeof GreeterService>> {
    if (!this.#client) throw new Error(`No API endpoint (last: ${this.#baseUrl})`);
    return this.#client;
  }

  close(): void {
    this.#sessions?.abort();
    this.#sessions = undefined;
  }
}

/** What one client saw. */
export interface ClientRecord {
  /** Greeting message → the greeting id its (last, successful) answer named. */
  readonly answered: Map<string, string>;
  /** Failures that were retried. */
  retries: number;
}

/**
 * A client greeting `count` messages `<name>-<i>` one after another, each with its own idempotency key; an
 * ambiguous failure is retried with the same key (backing off from 20 to 200 ms) until `deadline`. Resolves when all are answered.
 */
export async function greetingClient(
  endpoint: ApiEndpoint,
  name: string,
  count: number,
  deadline: number,
  onAnswer: () => void = () => {},
): Promise<ClientRecord> {
  const record: ClientRecord = { answered: new Map(), retries: 0 };
  for (let i = 0; i < count; i++) {
    const message = `${name}-${i}`;
    const key = `${name}-key-${i}`;
    let tries = 0;
    while (true) {
      try {
        const answer = await endpoint.client.greet({ message }, {
          headers: { "idempotency-key": key },
          timeoutMs: 5_000,
        });
        record.answered.set(message, answer.greetingId);
        onAnswer();
        break;
      } catch (error) {
        const failure = ConnectError.from(error);
        if (!AMBIGUOUS.has(failure.code) || Date.now() > deadline) {
          throw new Error(`${message}: ${failure.message} (after ${record.retries} retries)`, {
            cause: error,
          });
        }
        record.retries++;
        tries++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** tries)));
      }
    }
  }
  return record;
}

/** The access token the fault tests give soma (`AXON_TOKEN`). */
export const SOMA_TOKEN = "faults-test-token";

/** The greetings of greeter `main` stored in soma (at `port`, with access token `token`): message → event ids, in order. */
export async function storedGreetings(port: number, token: string): Promise<Map<string, string[]>> {
  const reader = new RawClient(port, { token });
  try {
    const stored: Event[] = await collect(reader.serverStream(events.listAggregateEvents, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetAggregateEventsRequest",
      aggregateId: "main",
      initialSequence: 0n,
      allowSnapshots: false,
      maxSequence: 0n,
      minToken: 0n,
    }));
    const greetings = new Map<string, string[]>();
    for (const event of stored) {
      if (event.payload?.type !== GreetedEventSchema.typeName) continue;
      const { message } = fromBinary(GreetedEventSchema, event.payload.data);
      greetings.set(message, [...(greetings.get(message) ?? []), event.messageIdentifier]);
    }
    return greetings;
  } finally {
    reader.close();
  }
}

/** Counts answers; tests wait for a count (bounded). */
export class AnswerCount {
  value = 0;
  #waiters: (() => void)[] = [];

  readonly add = (): void => {
    this.value++;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  };

  async reach(target: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.value < target) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Only ${this.value} of ${target} answers within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Asserts that every answered greeting is stored exactly once, under the id its answer named. */
export function exactlyOnce(records: readonly ClientRecord[], stored: Map<string, string[]>): string[] {
  const problems: string[] = [];
  for (const record of records) {
    for (const [message, greetingId] of record.answered) {
      const ids = stored.get(message) ?? [];
      if (ids.length !== 1) problems.push(`"${message}" is stored ${ids.length} times`);
      else if (ids[0] !== greetingId) problems.push(`"${message}" answered ${greetingId}, stored ${ids[0]}`);
    }
  }
  return problems;
}
