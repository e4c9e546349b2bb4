/**
 * A streaming query's handler is held back by a caller that stops reading (real gRPC, the caller in its own
 * process): soma passes on to the handler only what the caller's HTTP/2 flow control takes, plus a window of
 * `streamingWindow` responses. The handler here answers exactly as its `QueryFlowControl` permits allow (as Axon
 * Framework and the dendrite connector do) and counts what it sent; once the caller reads again, every page
 * arrives, in order.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  QueryCompleteSchema,
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  QueryResponseSchema,
  QuerySubscriptionSchema,
} from "../../src/gen/axon/query_pb.ts";
import { FlowControlSchema } from "../../src/gen/axon/common_pb.ts";
import { GreetingListSchema, SearchQuerySchema } from "../../src/gen/example/v1/domain_pb.ts";
import { GreetingSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals, eventually } from "../assert.ts";
import { Inbox, queries, RawClient, testSoma } from "./raw_client.ts";

const PAGES = 1_000;
const PAGE_TEXT = 4_096;
const STREAMING_WINDOW = 32;
/** A caller's initial HTTP/2 stream window (grpc-js and Deno's node:http2 announce the default). */
const CALLER_WINDOW = 65_535;

const pageBytes = (i: number) =>
  toBinary(
    GreetingListSchema,
    create(GreetingListSchema, {
      greetings: [create(GreetingSchema, { message: `page-${i}-${"x".repeat(PAGE_TEXT)}` })],
    }),
  );

/** A handler on its own gRPC stream that sends the pages of a SearchQuery only as soma's permits allow. */
async function permitObeyingHandler(port: number) {
  const client = new RawClient(port);
  const call = client.bidi(queries.openStream);
  const inbox = new Inbox<QueryProviderInbound>(call);
  const state = { permits: 0, sent: 0, requestId: "" };
  const send = (request: QueryProviderOutbound["request"], instructionId = "") =>
    call.write(create(QueryProviderOutboundSchema, { request, instructionId }));
  const pump = () => {
    while (state.requestId !== "" && state.permits > 0 && state.sent < PAGES) {
      state.permits--;
      send({
        case: "queryResponse",
        value: create(QueryResponseSchema, {
          messageIdentifier: crypto.randomUUID(),
          requestIdentifier: state.requestId,
          payload: { type: GreetingListSchema.typeName, data: pageBytes(state.sent) },
        }),
      });
      state.sent++;
    }
    if (state.sent === PAGES && state.requestId !== "") {
      send({
        case: "queryComplete",
        value: create(QueryCompleteSchema, { messageId: crypto.randomUUID(), requestId: state.requestId }),
      });
      state.requestId = "";
    }
  };
  call.on("data", (message: QueryProviderInbound) => {
    const request = message.request;
    if (request.case === "query") {
      const query = fromBinary(SearchQuerySchema, request.value.payload?.data ?? new Uint8Array());
      assertEquals(query.limit, PAGES);
      state.requestId = request.value.messageIdentifier;
    } else if (request.case === "queryFlowControl") state.permits += Number(request.value.permits);
    pump();
  });
  send({
    case: "subscribe",
    value: create(QuerySubscriptionSchema, {
      messageId: "s1",
      query: SearchQuerySchema.typeName,
      componentName: "pages",
      clientId: "pages-1",
    }),
  }, "s1");
  send({
    case: "flowControl",
    value: create(FlowControlSchema, { clientId: "pages-1", permits: 100n }),
  });
  await inbox.next((m) => m.request.case === "ack");
  return {
    state,
    close() {
      call.end();
      client.close();
    },
  };
}

/** Resolves with `read()` once it stayed the same for 500 ms (at most `timeoutMs`). */
async function settled(read: () => number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < 500) {
    if (Date.now() > deadline) throw new Error(`Still changing after ${timeoutMs} ms (${value})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (read() !== value) [value, since] = [read(), Date.now()];
  }
  return value;
}

for (const mode of ["connector", "raw"] as const) {
  Deno.test({
    name: `soma streaming query: a paused ${mode} caller holds the handler back; resumed, it gets every page`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const { soma, dispose } = await testSoma({ httpPort: false });
      const handler = await permitObeyingHandler(soma.port);
      const take = 5;
      const caller = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./slow_streaming_caller.ts", import.meta.url).pathname,
          String(soma.port),
          mode,
          String(take),
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const output: string[] = [];
      const reading = (async () => {
        for await (const chunk of caller.stdout.pipeThrough(new TextDecoderStream())) {
          output.push(...chunk.split("\n").filter((line) => line !== ""));
        }
      })();
      const writer = caller.stdin.getWriter();
      try {
        await eventually(
          () => output.includes(`PAUSED ${take}`),
          20_000,
          "the caller to take its pages and pause",
        );
        const sentWhilePaused = await settled(() => handler.state.sent);
        // What may be out: the taken pages; the caller's window and its two read buffers (the HTTP/2 stream's
        // 64 KiB and grpc-js's 16 messages), about one window of pages each; soma's window of responses ahead;
        // a few pages of slack for where the caller's window updates fall.
        const windowOfPages = Math.ceil(CALLER_WINDOW / (5 + pageBytes(0).length));
        const bound = take + 3 * windowOfPages + STREAMING_WINDOW + 8;
        console.log(
          `${mode}: the handler sent ${sentWhilePaused} of ${PAGES} while the caller paused (bound ${bound})`,
        );
        assert(
          sentWhilePaused <= bound,
          `the handler sent ${sentWhilePaused} pages to a caller that took ${take}`,
        );
        assert(sentWhilePaused > take, "the handler sent more than the caller took");

        await writer.write(new TextEncoder().encode("resume\n"));
        await eventually(
          () => output.some((line) => line.startsWith("DONE")),
          30_000,
          "the caller to finish",
        );
        assertEquals(output.find((line) => line.startsWith("DONE")), `DONE ${PAGES} true`);
        assertEquals(handler.state.sent, PAGES);
      } finally {
        await writer.close().catch(() => {});
        caller.kill();
        await caller.status;
        await reading.catch(() => {});
        handler.close();
        await dispose();
      }
    },
  });
}
