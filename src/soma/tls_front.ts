/**
 * TLS for soma's gRPC listener. grpc-js' own TLS server mode (`ServerCredentials.createSsl`) answers in plaintext
 * under Deno 2.9 (checked: TLS clients see "wrong version number"), so soma terminates TLS itself with `node:tls`
 * (ALPN `h2`) and pipes each connection to its gRPC server, which then listens on an ephemeral loopback port only.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import { createServer, type TLSSocket } from "node:tls";

/** A running TLS front. */
export interface TlsFront {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` with TLS and forwards every connection to `127.0.0.1:targetPort`.
 *
 * @example
 * ```ts ignore
 * const front = await startTlsFront({ host: "0.0.0.0", port: 8124, cert, key, targetPort: innerPort });
 * ```
 */
export async function startTlsFront(options: {
  readonly host: string;
  readonly port: number;
  readonly cert: string;
  readonly key: string;
  readonly targetPort: number;
}): Promise<TlsFront> {
  const sockets = new Set<Socket | TLSSocket>();
  const server = createServer(
    { cert: options.cert, key: options.key, ALPNProtocols: ["h2"] },
    (socket: TLSSocket) => {
      const upstream = connect(options.targetPort, "127.0.0.1");
      sockets.add(socket);
      sockets.add(upstream);
      const close = () => {
        socket.destroy();
        upstream.destroy();
        sockets.delete(socket);
        sockets.delete(upstream);
      };
      socket.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
      socket.pipe(upstream);
      upstream.pipe(socket);
    },
  );
  // A failed handshake only concerns that client.
  server.on("tlsClientError", (_error: Error, socket: TLSSocket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
