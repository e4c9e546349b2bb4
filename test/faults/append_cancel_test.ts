/**
 * AppendEvent commits on half-close only: a client that wrote events and then cancels, or whose process dies,
 * stores nothing (docs/soma.md: cancel = discard).
 */
import { create } from "@bufbuild/protobuf";
import { assertEquals } from "../assert.ts";
import { type Event, EventSchema } from "../../src/gen/axon/event_pb.ts";
import { spawnReady } from "../child.ts";
import { events, RawClient, testSoma } from "../soma/raw_client.ts";

function event(aggregate: string, sequence: number): Event {
  return create(EventSchema, {
    messageIdentifier: crypto.randomUUID(),
    aggregateIdentifier: aggregate,
    aggregateSequenceNumber: BigInt(sequence),
    aggregateType: "Thing",
    timestamp: BigInt(Date.now()),
    payload: {
      type: "test.v1.Happened",
      revision: "1",
      data: new TextEncoder().encode(`${aggregate}#${sequence}`),
    },
  });
}

function lastToken(client: RawClient): Promise<bigint> {
  return client.unary(events.getLastToken, {
    $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
  })
    .then((response) => response.token);
}

/** Resolves once grpc-js handed the message to the transport. */
function written(
  call: { write(message: Event, callback: () => void): boolean },
  message: Event,
): Promise<void> {
  return new Promise((resolve) => call.write(message, resolve));
}

Deno.test("AppendEvent: events written and then cancelled are not stored", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const outcome = new Promise<Error | null>((resolve) => {
      const call = client.client.makeClientStreamRequest(
        events.appendEvent.path,
        events.appendEvent.requestSerialize,
        events.appendEvent.responseDeserialize,
        client.metadata(),
        {},
        (error) => resolve(error),
      );
      Promise.all([written(call, event("cancelled", 0)), written(call, event("cancelled", 1))])
        // a unary call on the same connection answers after the server read the frames sent before it
        .then(() => lastToken(client))
        .then(() => call.cancel());
    });
    assertEquals((await outcome)?.name, "Error");
    // the server saw the cancel: a later append on the same aggregate starts at sequence 0
    await client.clientStream(events.appendEvent, [event("later", 0)]);
    assertEquals(await lastToken(client), 0n);
    assertEquals(
      (await client.unary(events.readHighestSequenceNr, {
        $typeName: "io.axoniq.axonserver.grpc.event.ReadHighestSequenceNrRequest",
        aggregateId: "cancelled",
        fromSequenceNr: 0n,
      })).toSequenceNr,
      -1n,
    );
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("AppendEvent: events written by a process that is killed before it half-closes are not stored", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const { child } = await spawnReady(new URL("./fixtures/append_without_end.ts", import.meta.url), {
      args: [String(soma.port)],
    });
    child.kill("SIGKILL");
    await child.status;
    // the server has seen the connection go: an append after it is the first event of the store
    await client.clientStream(events.appendEvent, [event("after", 0)]);
    assertEquals(await lastToken(client), 0n);
  } finally {
    client.close();
    await dispose();
  }
});
