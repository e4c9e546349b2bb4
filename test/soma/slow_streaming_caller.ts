/**
 * A slow caller of a streaming query, as its own process (so its HTTP/2 flow control is its own):
 * `deno run -A slow_streaming_caller.ts <port> <connector|raw> <take>` sends a streaming SearchQuery, takes `take`
 * responses, prints `PAUSED <n>` and stops reading until a line arrives on standard input; then it reads the rest
 * and prints `DONE <count> <in order: true|false>`.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { exampleRegistry } from "../../src/example/wiring.ts";
import { ProcessingKey } from "../../src/gen/axon/common_pb.ts";
import { QueryRequestSchema } from "../../src/gen/axon/query_pb.ts";
import {
  type GreetingList,
  GreetingListSchema,
  SearchQuerySchema,
} from "../../src/gen/example/v1/domain_pb.ts";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { queries, RawClient } from "./raw_client.ts";

const [port, mode, take] = [Number(Deno.args[0]), Deno.args[1], Number(Deno.args[2])];
const query = create(SearchQuerySchema, { query: "slow", limit: 1_000 });

/** The pages as they arrive, as `GreetingList`s. */
async function* pages(): AsyncGenerator<GreetingList> {
  if (mode === "connector") {
    const axon = await connectAxon(
      { address: `127.0.0.1:${port}`, componentName: "slow-caller", onStateChange: () => {} },
      exampleRegistry(),
      AbortSignal.timeout(10_000),
    );
    try {
      for await (const page of axon.queryBus.query(query, { streaming: true, timeoutMs: 60_000 })) {
        yield page as GreetingList;
      }
    } finally {
      await axon.close();
    }
    return;
  }
  const client = new RawClient(port);
  const request = create(QueryRequestSchema, {
    messageIdentifier: crypto.randomUUID(),
    query: SearchQuerySchema.typeName,
    payload: { type: SearchQuerySchema.typeName, data: toBinary(SearchQuerySchema, query) },
    processingInstructions: [
      { key: ProcessingKey.NR_OF_RESULTS, value: { data: { case: "numberValue", value: 1n } } },
      {
        key: ProcessingKey.CLIENT_SUPPORTS_STREAMING,
        value: { data: { case: "booleanValue", value: true } },
      },
    ],
    clientId: "slow-raw",
    componentName: "slow-raw",
  });
  try {
    for await (const response of client.serverStream(queries.query, request)) {
      yield fromBinary(GreetingListSchema, response.payload?.data ?? new Uint8Array());
    }
  } finally {
    client.close();
  }
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
let count = 0;
let ordered = true;
for await (const page of pages()) {
  ordered &&= page.greetings[0]?.message.startsWith(`page-${count}-`) ?? false;
  if (++count === take) {
    console.log(`PAUSED ${count}`);
    await lines.read();
  }
}
console.log(`DONE ${count} ${ordered}`);
