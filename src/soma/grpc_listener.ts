/**
 * soma's gRPC listener: a `node:net` server whose connections go to the grpc-js server through its connection
 * injector, each read on the way by {@link CallerWindows} (the caller's HTTP/2 flow control, which soma's
 * streaming queries follow) and each gathering its writes per turn ({@link gatherWrites}). The connection cap
 * is the net server's.
 *
 * @module
 */
import type { Server } from "@grpc/grpc-js";
import { ServerCredentials } from "@grpc/grpc-js";
import { createServer, type Socket } from "node:net";
import { CallerWindows } from "./caller_windows.ts";
import { gatherWrites } from "../dendrite/core/gathered_writes.ts";

/** A listening gRPC port. */
export interface GrpcListener {
  readonly port: number;
  readonly callers: CallerWindows;
  /** Stops accepting (at once; open connections are the grpc-js server's to close). */
  close(): void;
}

/**
 * Listens on `host:port` (0: ephemeral) for `server`.
 *
 * @example
 * ```ts ignore
 * const listener = await listenGrpc(server, { host: "127.0.0.1", port: 0, maxConnections: 1000 });
 * ```
 */
export async function listenGrpc(
  server: Server,
  options: { readonly host: string; readonly port: number; readonly maxConnections: number },
): Promise<GrpcListener> {
  const callers = new CallerWindows();
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const net = createServer((socket: Socket) => {
    const { connection, close } = callers.open(socket.remoteAddress, socket.remotePort);
    socket.on("data", (chunk: Uint8Array) => connection.read(chunk));
    socket.once("close", close);
    gatherWrites(socket);
    injector.injectConnection(socket);
  });
  net.maxConnections = options.maxConnections;
  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(options.port, options.host, () => {
      net.off("error", reject);
      resolve();
    });
  });
  const address = net.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    callers,
    // net.Server#close only calls back once every connection ended: soma's shutdown ends them after this.
    close: () => void net.close(),
  };
}
