/**
 * The greeter API over real loopback (Connect, binary): greeting lengths in characters (600 emoji pass), and
 * `WatchStatus`, the live status stream behind the UI's count and Record/Stop state.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startTestApp } from "./fixture.ts";

Deno.test("Greet accepts 600 emoji (600 characters) and refuses 1,001 characters with EX002", async () => {
  const t = await startTestApp();
  try {
    const client = createClient(GreeterService, t.transport);
    const { greetingId } = await client.greet({ message: "😀".repeat(600) });
    assert(greetingId !== "");
    const error = await assertRejects(() => client.greet({ message: "😀".repeat(1_001) }), ConnectError);
    assertEquals(error.code, Code.InvalidArgument);
    assert(error.rawMessage.includes("has 1001"), error.rawMessage);
  } finally {
    await t.close();
  }
});

Deno.test("WatchStatus streams the status, then each change from any client (greet, stop, record)", async () => {
  const t = await startTestApp();
  const stop = new AbortController();
  try {
    const client = createClient(GreeterService, t.transport);
    const admin = { headers: { authorization: `Bearer ${await t.adminToken()}` } };
    const stream = client.watchStatus({}, { signal: stop.signal })[Symbol.asyncIterator]();
    const next = async () => {
      const { value, done } = await stream.next();
      assert(!done, "the stream stays open");
      return { recording: value.recording, greetingCount: value.greetingCount };
    };
    assertEquals(await next(), { recording: true, greetingCount: 0n });
    await client.greet({ message: "one" });
    assertEquals(await next(), { recording: true, greetingCount: 1n });
    await client.stop({}, admin);
    assertEquals(await next(), { recording: false, greetingCount: 1n });
    await client.record({}, admin);
    assertEquals(await next(), { recording: true, greetingCount: 1n });
    await client.greet({ message: "two" });
    assertEquals(await next(), { recording: true, greetingCount: 2n });
    // The status a fresh watcher starts with agrees with GetStatus.
    const fresh = client.watchStatus({}, { signal: stop.signal })[Symbol.asyncIterator]();
    const first = (await fresh.next()).value;
    const status = await client.getStatus({});
    assertEquals([first?.recording, first?.greetingCount], [status.recording, status.greetingCount]);
  } finally {
    stop.abort();
    await t.close();
  }
});
