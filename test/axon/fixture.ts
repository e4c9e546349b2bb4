/**
 * Connector fixtures: a soma on an ephemeral port in a temporary folder — or the real Axon Server named by
 * AXON_SERVER — and connectors to it, each a separate client ("process").
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { type AxonConnector, connectAxon } from "../../src/dendrite/axon/mod.ts";
import { type Soma, startSoma } from "../../src/soma/mod.ts";
import { exampleRegistry } from "../../src/example/wiring.ts";

export { exampleRegistry };

/** The real Axon Server to test against, if the environment names one. */
export const AXON_SERVER = Deno.env.get("AXON_SERVER");

/** A server to connect to: soma on port 0, or AXON_SERVER. */
export interface Server {
  readonly address: string;
  readonly soma?: Soma;
  close(): Promise<void>;
}

export async function startServer(): Promise<Server> {
  if (AXON_SERVER) return { address: AXON_SERVER, close: () => Promise.resolve() };
  const dataDir = await Deno.makeTempDir({ prefix: "soma-test-" });
  const soma = await startSoma({ dataDir, port: 0, httpPort: false, registry: exampleRegistry() });
  return {
    address: `127.0.0.1:${soma.port}`,
    soma,
    async close() {
      await soma.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** A connector with its own client id. */
export function connector(server: Server, component = "dendrite-test"): Promise<AxonConnector> {
  return connectAxon(
    {
      address: server.address,
      componentName: component,
      heartbeat: { intervalMs: 500, timeoutMs: 2_000 },
      onStateChange: () => {},
    },
    exampleRegistry(),
    AbortSignal.timeout(20_000),
  );
}

/** Binds a scripted grpc-js server to an ephemeral loopback port, in cleartext; resolves with the port. */
export function bindLoopback(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (error, port) => error ? reject(error) : resolve(port),
    )
  );
}
