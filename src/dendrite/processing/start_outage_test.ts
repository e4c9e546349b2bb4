/**
 * A processor started while its token store is not yet available (Elasticsearch still starting, a network
 * outage) waits with the outage back-off instead of failing the program's start; other errors still fail it.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { advanceUntil } from "../../../test/processing/changes.ts";
import { DepositedEventSchema } from "../../gen/test/v1/account_pb.ts";
import { TransientError } from "../core/errors.ts";
import { MessageRegistry } from "../core/registry.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
import { InMemoryTokenStore } from "./memory_token_store.ts";
import { TrackingProcessor } from "./processor.ts";
import { defineProjection } from "./projection.ts";
import type { TrackingToken } from "./token_store.ts";

const registry = new MessageRegistry([DepositedEventSchema]);

/** A token store whose first `failures` calls to initializeSegments throw `error`. */
class StartingTokenStore extends InMemoryTokenStore {
  constructor(readonly clock: ManualClock, public failures: number, readonly error: () => Error) {
    super({ now: () => clock.now() });
  }
  override initializeSegments(processor: string, count: number, initialToken?: TrackingToken): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(this.error());
    }
    return super.initializeSegments(processor, count, initialToken);
  }
}

function setup(failures: number, error: () => Error) {
  const clock = new ManualClock(1_000_000);
  const eventStore = new InMemoryEventStore();
  const handled: string[] = [];
  const reported: unknown[] = [];
  const processor = new TrackingProcessor(
    defineProjection({
      name: `starting-${crypto.randomUUID()}`,
      events: [DepositedEventSchema],
      handle(event) {
        handled.push(event.payload.note);
        return Promise.resolve();
      },
    }),
    {
      eventStore,
      tokenStore: new StartingTokenStore(clock, failures, error),
      deadLetters: new InMemoryDeadLetterQueue(),
      registry,
      outage: { baseDelayMs: 10, maxDelayMs: 40 },
      clock,
      onError: (e) => reported.push(e),
    },
  );
  const deposit = (message: string) =>
    eventStore.append([{
      id: crypto.randomUUID(),
      timestamp: clock.now(),
      payload: registry.encode(create(DepositedEventSchema, { accountId: "g", note: message })),
      metadata: {},
    }]);
  return { clock, eventStore, handled, reported, processor, deposit };
}

Deno.test("start rides out a token store that is not available yet, then processes", async () => {
  const { clock, eventStore, handled, reported, processor, deposit } = setup(
    3,
    () => new TransientError("Elasticsearch unavailable: TimeoutError: Request timed out"),
  );
  await deposit("waited");
  let started = false;
  const starting = processor.start().then(() => started = true);
  try {
    await advanceUntil(clock, () => started, "the start", 10, 1_000);
    await starting;
    assertEquals(reported.length, 3, "each failed attempt is reported");
    assert(reported.every((e) => e instanceof TransientError));
    await processor.caughtUp(await eventStore.lastToken(), AbortSignal.timeout(5_000));
    assertEquals(handled, ["waited"]);
  } finally {
    await processor.stop();
  }
});

Deno.test("start fails at once on an error that is not an outage", async () => {
  const { reported, processor } = setup(1, () => new Error("the index mapping is wrong"));
  await assertRejects(() => processor.start(), Error, "the index mapping is wrong");
  assertEquals(reported, []);
  assertEquals(processor.running, false);
});

Deno.test("stop ends a start that waits for the token store", async () => {
  const { clock, reported, processor } = setup(1_000, () => new TransientError("connection refused"));
  const starting = processor.start();
  await advanceUntil(clock, () => reported.length >= 2, "two attempts", 10, 1_000);
  await processor.stop();
  await assertRejects(() => starting);
  assertEquals(processor.running, false);
  assertEquals(clock.sleeping, 0, "no wait is left behind");
});
