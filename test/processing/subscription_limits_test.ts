/**
 * Bounded subscriptions on a real program process with a small heap: live Greetings streams are limited per client
 * address and in all (RESOURCE_EXHAUSTED beyond, the process keeps serving), and a subscriber that stops reading is
 * dropped with a clear error once it falls a buffer behind, while the others keep receiving every update.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { connect } from "node:net";
import { assert, assertEquals, eventually } from "../assert.ts";
import { GreeterService, type Greeting } from "../../src/gen/example/v1/greeter_pb.ts";
import { append, Greeters, startAllRoles } from "./program.ts";
import { stuckStream } from "./stuck_stream.ts";

const MAX_TOTAL = 6;
const PER_CLIENT = 4;
/** Room for a burst: the projection publishes a batch of events' updates at once. */
const BUFFER = 400;
const BATCH = 200;
/** Enough bytes to fill the loopback socket's buffers (4 MB send buffer at most here) behind a reader that stops. */
const UPDATES = 10_000;
const FILLER = "x".repeat(800);

/** Receive windows of the clients' HTTP/2 connections: a browser's (Chromium: 6 MiB per stream, 15 MiB in all). */
const STREAM_WINDOW = 6 * 1024 * 1024;
const CONNECTION_WINDOW = 15 * 1024 * 1024;

/**
 * HTTP/2 sessions that receive like a browser. node:http2's default receive window is 64 KiB for the whole
 * connection: the streams of one session then share ~64 KiB per turn of this (busy) test process and fall a
 * subscription buffer behind the program's bursts (docs/api.md, "Streams over HTTP/2").
 */
class BrowserWindowSessions extends Http2SessionManager {
  override async request(...args: Parameters<Http2SessionManager["request"]>) {
    const stream = await super.request(...args);
    stream.session?.setLocalWindowSize(CONNECTION_WINDOW);
    return stream;
  }
}

/** A client from a loopback source address of its own (127.0.0.x), over cleartext HTTP/2 on the front door. */
function clientFrom(port: number, source: string) {
  const baseUrl = `http://127.0.0.1:${port}`;
  const sessionManager = new BrowserWindowSessions(baseUrl, {}, {
    settings: { initialWindowSize: STREAM_WINDOW },
    createConnection: () => connect({ host: "127.0.0.1", port, localAddress: source }),
  });
  const transport = createConnectTransport({ baseUrl, httpVersion: "2", sessionManager });
  return { client: createClient(GreeterService, transport) };
}

/** A Greetings stream, open once its first message (the initial greeting) arrived. */
async function openStream(client: ReturnType<typeof clientFrom>["client"], signal: AbortSignal) {
  const iterator = client.greetings({}, { signal })[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert(!first.done, "the stream starts with the initial greeting");
  return iterator;
}

async function refusal(
  client: ReturnType<typeof clientFrom>["client"],
  signal: AbortSignal,
): Promise<ConnectError> {
  try {
    await openStream(client, signal);
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the stream was not refused");
}

Deno.test({
  name:
    "subscriptions: bounded per client and in all; a subscriber that stops reading is dropped, not the process",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-subscriptions-" });
    const program = startAllRoles(dataDir, {
      SUBSCRIPTIONS_MAX: String(MAX_TOTAL),
      SUBSCRIPTIONS_PER_CLIENT: String(PER_CLIENT),
      SUBSCRIPTION_BUFFER: String(BUFFER),
    }, { denoArgs: ["--v8-flags=--max-old-space-size=128"] });
    const stop = new AbortController();
    const clients: ReturnType<typeof clientFrom>[] = [];
    try {
      const soma = await program.waitFor((r) => r.msg === "soma listening", "soma listening");
      const api = await program.waitFor((r) => r.msg === "listening", "the api listening");
      const apiPort = Number(api.port);
      const somaPort = Number(soma.port);
      const greeters = new Greeters();
      await append(somaPort, [greeters.greeted("g-0", "the initial greeting")]);
      const [a, b] = [clientFrom(apiPort, "127.0.0.1"), clientFrom(apiPort, "127.0.0.2")];
      clients.push(a, b);

      // Wait until the projection has the initial greeting, so every stream starts with a message.
      await eventually(
        async () => {
          for await (const _ of a.client.search({ query: "initial" })) return true;
          return false;
        },
        20_000,
        "the initial greeting",
      );

      const slow = await stuckStream(apiPort);
      const fromA = [];
      for (let i = 1; i < PER_CLIENT; i++) fromA.push(await openStream(a.client, stop.signal));
      const perClient = await refusal(a.client, stop.signal);
      assertEquals(perClient.code, Code.ResourceExhausted, perClient.message);
      assert(perClient.message.includes("from this client"), perClient.message);
      const fromB = [];
      for (let i = 0; i < MAX_TOTAL - PER_CLIENT; i++) fromB.push(await openStream(b.client, stop.signal));
      const total = await refusal(b.client, stop.signal);
      assertEquals(total.code, Code.ResourceExhausted, total.message);
      assert(total.message.includes("in all"), total.message);

      // Every reader but `slow` reads everything.
      const readers = [...fromA, ...fromB].map(async (stream) => {
        let seen = 0;
        while (seen < UPDATES) {
          const next = await stream.next();
          if (next.done) throw new Error(`a reader's stream ended after ${seen} updates`);
          if ((next.value as Greeting).message.startsWith("update ")) seen++;
        }
        return seen;
      });
      const reading = Promise.all(readers);
      reading.catch(() => {}); // awaited below
      for (let sent = 0; sent < UPDATES; sent += BATCH) {
        const batch = [];
        for (let i = sent; i < sent + BATCH; i++) {
          batch.push(greeters.greeted(`g-${1 + (i % 50)}`, `update ${i} ${FILLER}`));
        }
        await append(somaPort, batch);
      }
      assertEquals(await reading, new Array(MAX_TOTAL - 1).fill(UPDATES));

      // The slow one was dropped: its slot is free again, and reading it ends in a clear error.
      const again = await openStream(b.client, stop.signal);
      await again.return?.();
      const end = await slow.readUntil("fell too far behind");
      assert(end.includes('"code":"resource_exhausted"'), end.slice(-300));
      assert(!end.includes(`update ${UPDATES - 1} `), "the stuck stream did not get every update");
      slow.close();
      const health = await fetch(`http://127.0.0.1:${apiPort}/healthz`);
      assertEquals(health.status, 200, "the process still serves");
      await health.body?.cancel();
    } finally {
      stop.abort();
      const status = await program.stop();
      assertEquals(status.code, 0, program.tail());
    }
  },
});
