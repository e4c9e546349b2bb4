import { create } from "@bufbuild/protobuf";
import { assertEquals } from "../../../test/assert.ts";
import { parsePrometheus, valueOf } from "../../../test/observability/prometheus.ts";
import { DepositedEventSchema } from "../../gen/test/v1/account_pb.ts";
import { MessageRegistry } from "../core/registry.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { InMemoryDeadLetterQueue } from "../processing/dead_letter.ts";
import { InMemoryTokenStore } from "../processing/memory_token_store.ts";
import { TrackingProcessor } from "../processing/processor.ts";
import { defineProjection } from "../processing/projection.ts";
import { Metrics } from "./metrics.ts";
import { ProcessorMetrics } from "./processors.ts";

const registry = new MessageRegistry([DepositedEventSchema]);

function deposited(id: string, sequence: number, message: string) {
  return {
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: registry.encode(create(DepositedEventSchema, { accountId: id, note: message })),
    metadata: {},
    aggregate: { type: "test.v1.Account", id, sequence },
  };
}

Deno.test("ProcessorMetrics reads position, lag, errors and dead letters at scrape time; a lost head leaves the rest", async () => {
  const eventStore = new InMemoryEventStore();
  const deadLetters = new InMemoryDeadLetterQueue();
  const processor = new TrackingProcessor(
    defineProjection({
      name: "measured",
      events: [DepositedEventSchema],
      handle: (event) =>
        event.payload.note === "poison" ? Promise.reject(new Error("cannot")) : Promise.resolve(),
    }),
    {
      eventStore,
      tokenStore: new InMemoryTokenStore(),
      registry,
      deadLetters,
      poison: { maxAttempts: 2 },
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
      onError: () => {},
    },
  );
  const metrics = new Metrics({ meter: false });
  let headReachable = true;
  const measured = new ProcessorMetrics(metrics, () => {
    if (!headReachable) return Promise.reject(new Error("the event store is unreachable"));
    return eventStore.lastToken();
  });
  const untrack = measured.track(processor);
  const scrape = async () => parsePrometheus(await metrics.render());
  const series = { processor: "measured", segment: "0" };
  try {
    await eventStore.append([
      deposited("a", 0, "one"),
      deposited("a", 1, "two"),
      deposited("b", 0, "poison"),
    ]);
    await processor.start();
    await processor.caughtUp(2, AbortSignal.timeout(5_000));
    let m = await scrape();
    assertEquals(valueOf(m, "dendrite_processor_segment_position", series), 2);
    assertEquals(valueOf(m, "dendrite_processor_segment_lag_events", series), 0);
    assertEquals(valueOf(m, "dendrite_processor_errors_total", { processor: "measured" }), 2, "two attempts");
    assertEquals(valueOf(m, "dendrite_processor_dead_lettered_total", { processor: "measured" }), 1);
    assertEquals(valueOf(m, "dendrite_processor_dead_letters", { processor: "measured" }), 1);
    assertEquals(valueOf(m, "dendrite_events_appended_total"), 3);

    await processor.stop();
    await eventStore.append([deposited("a", 2, "three"), deposited("a", 3, "four")]);
    m = await scrape();
    assertEquals(valueOf(m, "dendrite_processor_running", { processor: "measured" }), 0);
    assertEquals(valueOf(m, "dendrite_events_appended_total"), 5);

    headReachable = false;
    m = await scrape();
    assertEquals(valueOf(m, "dendrite_events_appended_total"), 5, "the last head read stands");
    assertEquals(
      valueOf(m, "dendrite_processor_segment_lag_events", series),
      undefined,
      "no lag without a head",
    );
    assertEquals(
      valueOf(m, "dendrite_event_store_head_read_failures_total"),
      1,
      "one read per scrape",
    );
    assertEquals(
      valueOf(m, "dendrite_processor_dead_letters", { processor: "measured" }),
      1,
      "the rest answers",
    );

    untrack();
    headReachable = true;
    m = await scrape();
    assertEquals(valueOf(m, "dendrite_processor_dead_letters", { processor: "measured" }), undefined);
  } finally {
    untrack();
    await processor.stop();
  }
});
