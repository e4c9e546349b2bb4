/** soma's DcbSnapshotStore at the wire (raw grpc-js client): add, replace, prune, list bounds, last, delete, reopen. */
import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import {
  AddSnapshotRequestSchema,
  DcbSnapshotStore,
  DeleteSnapshotsRequestSchema,
  GetLastSnapshotRequestSchema,
  ListSnapshotsRequestSchema,
  type ListSnapshotsResponse,
} from "../../src/gen/axon/dcb_pb.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { collect, RawClient } from "./raw_client.ts";

const snapshots = grpcService(DcbSnapshotStore);
const key = new TextEncoder().encode("course:c1");
const other = new TextEncoder().encode("course:c2");

Deno.test("soma DcbSnapshotStore keeps snapshots by key and sequence, durably", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-snap-" });
  const token = crypto.randomUUID();
  const open = () =>
    startSoma({ dataDir, port: 0, httpPort: false, heartbeatIntervalMs: 0, accessToken: token });
  let soma = await open();
  let client = new RawClient(soma.port, { token });
  try {
    const add = (k: Uint8Array, sequence: number, name: string, prune = false) =>
      client.unary(
        snapshots.add,
        create(AddSnapshotRequestSchema, {
          key: k,
          sequence: BigInt(sequence),
          prune,
          snapshot: {
            name,
            version: "1",
            payload: new Uint8Array([sequence]),
            timestamp: 5n,
            metadata: { a: "b" },
          },
        }),
      );
    const list = async (k: Uint8Array, from: number, to: number) =>
      (await collect<ListSnapshotsResponse>(
        client.serverStream(
          snapshots.list,
          create(ListSnapshotsRequestSchema, { key: k, fromSequence: BigInt(from), toSequence: BigInt(to) }),
        ),
      )).map((r) => `${r.sequence}:${r.snapshot?.name}`);
    const last = async (k: Uint8Array) => {
      const response = await client.unary(
        snapshots.getLast,
        create(GetLastSnapshotRequestSchema, { key: k }),
      );
      return response.snapshot ? `${response.sequence}:${response.snapshot.name}` : "none";
    };

    await add(key, 3, "s3");
    await add(key, 7, "s7");
    await add(key, 7, "s7b");
    await add(key, 10, "s10");
    await add(other, 1, "o1");
    assertEquals(await list(key, 0, 0), ["3:s3", "7:s7b", "10:s10"]);
    assertEquals(await list(key, 4, 10), ["7:s7b"]);
    assertEquals(await last(key), "10:s10");
    assertEquals(await last(new TextEncoder().encode("none")), "none");

    await client.unary(snapshots.delete, create(DeleteSnapshotsRequestSchema, { key, toSequence: 7n }));
    assertEquals(await list(key, 0, 0), ["7:s7b", "10:s10"]);
    await add(key, 12, "s12", true);
    assertEquals(await list(key, 0, 0), ["12:s12"]);
    assertEquals(await list(other, 0, 0), ["1:o1"]);

    const error = await assertRejects(() => add(new Uint8Array(), 1, "x"));
    assertEquals((error as unknown as { code: number }).code, Status.INVALID_ARGUMENT);

    client.close();
    await soma.close();
    soma = await open();
    client = new RawClient(soma.port, { token });
    assertEquals(await last(key), "12:s12");
  } finally {
    client.close();
    await soma.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
