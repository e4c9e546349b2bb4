/**
 * DCB crash safety: soma runs as a real child process; conditional DCB transactions go in over gRPC from several
 * writers while the test records which were confirmed; SIGKILL mid-load; a restart on the same data directory
 * must hold every confirmed transaction, whole, and no transaction partially.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals } from "../assert.ts";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import {
  AppendEventsRequestSchema,
  DcbEventStore,
  SourceEventsRequestSchema,
  type SourceEventsResponse,
} from "../../src/gen/axon/dcb_pb.ts";
import { collect, RawClient, spawnSoma } from "./raw_client.ts";

const dcb = grpcService(DcbEventStore);
const PER_TRANSACTION = 5;
const encoder = new TextEncoder();
const batchTag = (batch: number) => ({ key: encoder.encode("batch"), value: encoder.encode(String(batch)) });
const criterion = (batch: number) => ({ tagsAndNames: { name: [], tag: [batchTag(batch)] } });

function transaction(batch: number) {
  return create(AppendEventsRequestSchema, {
    condition: { consistencyMarker: 0n, criterion: [criterion(batch)] },
    event: Array.from({ length: PER_TRANSACTION }, (_, i) => ({
      event: { identifier: `b${batch}-e${i}`, timestamp: 1n, name: "Loaded", payload: new Uint8Array(64) },
      tag: [batchTag(batch)],
    })),
  });
}

Deno.test("soma DCB survives kill -9 mid-load: confirmed transactions are all there, none is partial", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-dcb-kill-" });
  const first = await spawnSoma(dir);
  const client = new RawClient(first.port, { token: first.token });
  const confirmed = new Set<number>();
  let next = 0;
  let killed = false;
  let enough!: () => void;
  const reached = new Promise<void>((resolve) => (enough = resolve));
  try {
    const writer = async () => {
      while (!killed) {
        const batch = next++;
        try {
          await client.clientStream(dcb.append, [transaction(batch)]);
          confirmed.add(batch);
          if (confirmed.size >= 100) enough();
        } catch {
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, writer);
    const timeout = setTimeout(() => enough(), 60_000);
    await reached;
    clearTimeout(timeout);
    first.process.kill("SIGKILL");
    killed = true;
    await first.process.status;
    await Promise.all(writers);
  } finally {
    client.close();
  }
  assert(confirmed.size >= 100, `only ${confirmed.size} transactions confirmed`);

  const second = await spawnSoma(dir);
  const reader = new RawClient(second.port, { token: second.token });
  try {
    const sizes = new Map<number, number>();
    for (let batch = 0; batch < next; batch++) {
      const responses: SourceEventsResponse[] = await collect(
        reader.serverStream(dcb.source, create(SourceEventsRequestSchema, { criterion: [criterion(batch)] })),
      );
      sizes.set(batch, responses.filter((r) => r.result.case === "event").length);
    }
    for (const batch of confirmed) assertEquals(sizes.get(batch), PER_TRANSACTION, `transaction ${batch}`);
    const partial = [...sizes].filter(([, size]) => size !== 0 && size !== PER_TRANSACTION);
    assertEquals(partial, []);
  } finally {
    reader.close();
    second.process.kill("SIGKILL");
    await second.process.status;
    await Deno.remove(dir, { recursive: true });
  }
});
