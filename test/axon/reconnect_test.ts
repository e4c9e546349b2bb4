/**
 * The connector survives a server restart: calls fail fast while the server is gone, then the connection comes
 * back by itself and every handler is subscribed again.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, assertRejects, eventually } from "../assert.ts";
import { type Soma, startSoma } from "../../src/soma/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { AXON_SERVER, connector, exampleRegistry } from "./fixture.ts";

Deno.test({
  name: "connector → soma: reconnects after a server restart and resubscribes its handlers",
  ignore: Boolean(AXON_SERVER),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "soma-restart-" });
    let soma: Soma = await startSoma({ dataDir, port: 0, httpPort: false, registry: exampleRegistry() });
    const port = soma.port;
    const server = { address: `127.0.0.1:${port}`, close: () => soma.close() };
    const handler = await connector(server, "handler");
    const dispatcher = await connector(server, "dispatcher");
    try {
      let handled = 0;
      await handler.commandBus.subscribe(domain.StopCommandSchema, () => {
        handled++;
        return Promise.resolve(create(domain.RecordingStateSchema, { recording: false }));
      });
      const stop = () => dispatcher.commandBus.dispatch(create(domain.StopCommandSchema, { greeterId: "g" }));
      await stop();
      assertEquals(handled, 1);

      await soma.close();
      const started = performance.now();
      await assertRejects(() => stop());
      assert(performance.now() - started < 5_000, "a call fails promptly while the server is gone");

      soma = await startSoma({ dataDir, port, httpPort: false, registry: exampleRegistry() });
      await eventually(
        async () => {
          try {
            await stop();
            return true;
          } catch {
            return false;
          }
        },
        20_000,
        "a dispatch through the reconnected connectors",
      );
      assert(handled >= 2, "the handler was subscribed again and handled the command");
      assert(handler.connection.connected && dispatcher.connection.connected);
    } finally {
      await Promise.all([handler.close(), dispatcher.close()]);
      await soma.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
