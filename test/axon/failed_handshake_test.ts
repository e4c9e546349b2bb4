/**
 * A connector whose handshake fails (the server accepts HTTP/2 but never answers GetPlatformServer) retries with
 * back-off and leaves no channel behind per failed attempt: the server sees at most one connection open at a time.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { AxonConnection } from "../../src/dendrite/axon/connection.ts";
import { assert, assertRejects, eventually } from "../assert.ts";

Deno.test("connector: a failed handshake closes its channel before the next attempt", async () => {
  const open = new Set<http2.ServerHttp2Session>();
  let attempts = 0;
  let most = 0;
  const server = http2.createServer();
  server.on("session", (session) => {
    open.add(session);
    most = Math.max(most, open.size);
    session.on("close", () => open.delete(session));
  });
  // Every call is accepted and never answered: the connector's handshake times out.
  server.on("stream", () => attempts++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await assertRejects(() =>
      AxonConnection.connect(
        {
          address: `127.0.0.1:${port}`,
          componentName: "handshake-test",
          connectTimeoutMs: 100,
          onStateChange: () => {},
        },
        AbortSignal.timeout(2_500),
      )
    );
    assert(attempts >= 3, `the connector retried (${attempts} attempts)`);
    await eventually(() => open.size === 0, 5_000, "every channel closed once the connector gave up");
    assert(most <= 1, `at most one connection open at a time (${most} were, over ${attempts} attempts)`);
  } finally {
    for (const session of open) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
