/**
 * soma's DcbEventStore at the wire, with a raw grpc-js client (no connector): a transaction split over several
 * `AppendEventsRequest` messages the way axonserver-connector-java sends it (condition first, then events), the
 * status and `AxonIQ-ErrorCode` of a failed condition, and bad input answered with INVALID_ARGUMENT while soma
 * keeps serving.
 */
import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import {
  AppendEventsRequestSchema,
  DcbEventStore,
  GetHeadRequestSchema,
  GetTagsRequestSchema,
  SourceEventsRequestSchema,
  type SourceEventsResponse,
} from "../../src/gen/axon/dcb_pb.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { collect, errorCode, RawClient } from "./raw_client.ts";

const dcb = grpcService(DcbEventStore);
const encoder = new TextEncoder();
const tagOf = (key: string, value: string) => ({ key: encoder.encode(key), value: encoder.encode(value) });
const tagged = (name: string, key: string, value: string) => ({
  event: { identifier: crypto.randomUUID(), timestamp: 1n, name, payload: encoder.encode(name) },
  tag: [tagOf(key, value)],
});
const criterion = (key: string, value: string) => ({ tagsAndNames: { name: [], tag: [tagOf(key, value)] } });

async function withSoma(work: (client: RawClient) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-wire-" });
  const token = crypto.randomUUID();
  const soma = await startSoma({
    dataDir,
    port: 0,
    httpPort: false,
    heartbeatIntervalMs: 0,
    accessToken: token,
  });
  const client = new RawClient(soma.port, { token });
  try {
    await work(client);
  } finally {
    client.close();
    await soma.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const head = async (client: RawClient) =>
  Number((await client.unary(dcb.getHead, create(GetHeadRequestSchema, {}))).sequence);

Deno.test("soma DCB: a transaction over several requests, condition first, is one append", () =>
  withSoma(async (client) => {
    const response = await client.clientStream(dcb.append, [
      create(AppendEventsRequestSchema, {
        condition: { consistencyMarker: 0n, criterion: [criterion("c", "1")] },
      }),
      create(AppendEventsRequestSchema, { event: [tagged("A", "c", "1")] }),
      create(AppendEventsRequestSchema, { event: [tagged("B", "c", "1")] }),
    ]);
    assertEquals(
      [response.sequenceOfTheFirstEvent, response.transactionSize, response.consistencyMarker],
      [0n, 2, 2n],
    );
    const source: SourceEventsResponse[] = await collect(
      client.serverStream(
        dcb.source,
        create(SourceEventsRequestSchema, { criterion: [criterion("c", "1")] }),
      ),
    );
    assertEquals(source.map((r) => r.result.case), ["event", "event", "consistencyMarker"]);
    assertEquals(source.at(-1)?.result.value, 2n);
  }));

Deno.test("soma DCB: a failed condition is FAILED_PRECONDITION with AXONIQ-2000 and stores nothing", () =>
  withSoma(async (client) => {
    await client.clientStream(dcb.append, [
      create(AppendEventsRequestSchema, { event: [tagged("A", "c", "1")] }),
    ]);
    const error = await assertRejects(() =>
      client.clientStream(dcb.append, [
        create(AppendEventsRequestSchema, {
          condition: { consistencyMarker: 0n, criterion: [criterion("c", "1")] },
          event: [tagged("B", "c", "1"), tagged("C", "d", "2")],
        }),
      ])
    );
    assertEquals((error as unknown as { code: number }).code, Status.FAILED_PRECONDITION);
    assertEquals(errorCode(error), "AXONIQ-2000");
    assertEquals(await head(client), 1);
  }));

Deno.test("soma DCB: bad input is INVALID_ARGUMENT and soma keeps serving", () =>
  withSoma(async (client) => {
    const badTag = { key: new Uint8Array([0xff, 0xfe]), value: new Uint8Array([1]) };
    const cases = [
      () =>
        client.clientStream(dcb.append, [
          create(AppendEventsRequestSchema, { event: [{ event: { name: "A" }, tag: [badTag] }] }),
        ]),
      () =>
        client.clientStream(dcb.append, [
          create(AppendEventsRequestSchema, { condition: { consistencyMarker: 0n } }),
          create(AppendEventsRequestSchema, { condition: { consistencyMarker: 0n } }),
        ]),
      () => client.clientStream(dcb.append, [create(AppendEventsRequestSchema, { event: [{ tag: [] }] })]),
      () => client.unary(dcb.getTags, create(GetTagsRequestSchema, { sequence: 7n })),
      () =>
        collect(client.serverStream(dcb.source, create(SourceEventsRequestSchema, { fromSequence: -1n }))),
    ];
    for (const attempt of cases) {
      const error = await assertRejects(attempt);
      assertEquals((error as unknown as { code: number }).code, Status.INVALID_ARGUMENT, String(error));
    }
    assertEquals(await head(client), 0);
  }));
