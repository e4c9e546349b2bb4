/**
 * Crash safety: soma runs as a real child process; concurrent AppendEvent batches go in over gRPC while the test
 * records which ones were confirmed; SIGKILL mid-load; a restart on the same data directory must hold every
 * confirmed batch, and no batch partially.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals } from "../assert.ts";
import { EventSchema, type GetEventsRequest, GetEventsRequestSchema } from "../../src/gen/axon/event_pb.ts";
import { collect, events, RawClient, spawnSoma } from "./raw_client.ts";
import { raceAbort } from "../../src/dendrite/core/async.ts";
const BATCH = 20;

function batchEvents(batch: number) {
  return Array.from({ length: BATCH }, (_, i) =>
    create(EventSchema, {
      messageIdentifier: `b${batch}-e${i}`,
      aggregateIdentifier: `agg-${batch}`,
      aggregateSequenceNumber: BigInt(i),
      aggregateType: "Batch",
      timestamp: BigInt(Date.now()),
      payload: { type: "test.v1.Loaded", revision: "", data: new Uint8Array(64).fill(batch % 256) },
    }));
}

Deno.test("soma survives kill -9 mid-load: confirmed batches are all there, none is partial", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-kill-" });
  const first = await spawnSoma(dir);
  const client = new RawClient(first.port, { token: first.token });
  const confirmed = new Set<number>();
  let next = 0;
  let killed = false;
  const enough = Promise.withResolvers<void>();
  try {
    const writer = async () => {
      while (!killed) {
        const batch = next++;
        try {
          await client.clientStream(events.appendEvent, batchEvents(batch));
          // a confirmation that arrives even as the kill goes out was sent by soma before it died: it must be durable
          confirmed.add(batch);
          if (confirmed.size >= 150) enough.resolve();
        } catch {
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, writer);
    // bounded: soma must confirm 150 batches within 30 s (it takes well under a second alone)
    await raceAbort(enough.promise, AbortSignal.timeout(30_000)).catch((error) => {
      throw new Error(`only ${confirmed.size} batches confirmed within 30 s`, { cause: error });
    });
    first.process.kill("SIGKILL");
    killed = true;
    await first.process.status;
    await Promise.all(writers);
  } finally {
    client.close();
  }
  assert(confirmed.size >= 150, `only ${confirmed.size} batches confirmed`);

  const second = await spawnSoma(dir);
  const reader = new RawClient(second.port, { token: second.token });
  try {
    const last = await reader.unary(events.getLastToken, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
    });
    const request: GetEventsRequest = create(GetEventsRequestSchema, {
      trackingToken: 0n,
      numberOfPermits: last.token + 1n,
    });
    const call = reader.bidi(events.listEvents);
    const perBatch = new Map<string, number>();
    let seen = 0n;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the stream stopped at ${seen} of ${last.token + 1n}`)),
        30_000,
      );
      call.on("data", (message: { token: bigint; event?: { aggregateIdentifier: string } }) => {
        const id = message.event!.aggregateIdentifier;
        perBatch.set(id, (perBatch.get(id) ?? 0) + 1);
        seen++;
        if (message.token === last.token) resolve();
      });
      call.on("error", reject);
      call.write(request);
      if (last.token < 0n) resolve();
    }).finally(() => clearTimeout(timer));
    call.cancel();
    for (const batch of confirmed) {
      assertEquals(perBatch.get(`agg-${batch}`), BATCH, `batch ${batch} is missing`);
    }
    for (const [id, count] of perBatch) assertEquals(count, BATCH, `${id} is partial`);
    assertEquals(seen, last.token + 1n);
    // and it is still a working event store
    const more = await reader.unary(events.readHighestSequenceNr, {
      $typeName: "io.axoniq.axonserver.grpc.event.ReadHighestSequenceNrRequest",
      aggregateId: `agg-${[...confirmed][0]}`,
      fromSequenceNr: 0n,
    });
    assertEquals(more.toSequenceNr, BigInt(BATCH - 1));
    assert(
      (await collect(reader.serverStream(events.listAggregateEvents, {
        $typeName: "io.axoniq.axonserver.grpc.event.GetAggregateEventsRequest",
        aggregateId: `agg-${[...confirmed][0]}`,
        initialSequence: 0n,
        allowSnapshots: false,
        maxSequence: 0n,
        minToken: 0n,
      }))).length === BATCH,
    );
  } finally {
    reader.close();
    second.process.kill("SIGTERM");
    await second.process.status;
    await Deno.remove(dir, { recursive: true });
  }
});
