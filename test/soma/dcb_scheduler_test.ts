/** soma's DcbEventScheduler at the wire: schedule, cancel, reschedule with a new event, durable across a restart. */
import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import type { SequencedEvent } from "../../src/dendrite/dcb/mod.ts";
import {
  CancelScheduledEventRequestSchema,
  DcbEventScheduler,
  RescheduleEventRequestSchema,
  ScheduleEventRequestSchema,
} from "../../src/gen/axon/dcb_pb.ts";
import { type Soma, startSoma } from "../../src/soma/mod.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { RawClient } from "./raw_client.ts";

const scheduler = grpcService(DcbEventScheduler);
const event = (name: string) => ({
  identifier: crypto.randomUUID(),
  timestamp: 5n,
  name,
  version: "2",
  payload: new TextEncoder().encode(name),
  metadata: { origin: "test" },
});

/** The first `count` DCB events soma stores, failing after `timeoutMs`. */
async function published(soma: Soma, count: number, timeoutMs = 10_000): Promise<SequencedEvent[]> {
  const out: SequencedEvent[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const e of soma.dcbEventStore.stream([], { signal })) {
    out.push(e);
    if (out.length === count) return out;
  }
  throw new Error(`Only ${out.length} of ${count} scheduled events were published in ${timeoutMs} ms`);
}

Deno.test("soma DcbEventScheduler publishes due events into the DCB store, durably", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-sched-" });
  const token = crypto.randomUUID();
  const open = () =>
    startSoma({ dataDir, port: 0, httpPort: false, heartbeatIntervalMs: 0, accessToken: token });
  let soma = await open();
  let client = new RawClient(soma.port, { token });
  try {
    // Every instant lies after the scheduling calls are done (they take far less than 2 s), so the order of
    // publication is the order of the instants, and the cancelled event (due before the others) can prove its absence.
    const now = Date.now() + 2_000;
    const schedule = (name: string, inMs: number) =>
      client.unary(
        scheduler.scheduleEvent,
        create(ScheduleEventRequestSchema, { instant: BigInt(now + inMs), event: event(name) }),
      );
    const cancelled = await schedule("Cancelled", 100);
    await client.unary(
      scheduler.cancelScheduledEvent,
      create(CancelScheduledEventRequestSchema, { token: cancelled.token }),
    );
    await schedule("Reminder", 300);
    const far = await schedule("Far", 10 * 3_600_000);
    await client.unary(
      scheduler.rescheduleEvent,
      create(RescheduleEventRequestSchema, {
        token: far.token,
        instant: BigInt(now + 200),
        event: event("Moved"),
      }),
    );
    await schedule("AfterRestart", 1_500);
    const error = await assertRejects(() =>
      client.unary(scheduler.scheduleEvent, create(ScheduleEventRequestSchema, { instant: 1n }))
    );
    assertEquals((error as unknown as { code: number }).code, Status.INVALID_ARGUMENT);

    const first = await published(soma, 2);
    assertEquals(first.map((e) => e.event.name), ["Moved", "Reminder"]);
    assertEquals([first[1].event.version, first[1].event.metadata], ["2", { origin: "test" }]);

    client.close();
    await soma.close();
    soma = await open();
    client = new RawClient(soma.port, { token });
    const all = await published(soma, 3);
    assertEquals(all.map((e) => e.event.name), ["Moved", "Reminder", "AfterRestart"]);
  } finally {
    client.close();
    await soma.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
