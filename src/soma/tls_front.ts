/**
 * TLS for soma's gRPC listener. grpc-js' own TLS server mode (`ServerCredentials.createSsl`) answers in plaintext
 * under Deno 2.9 (checked: TLS clients see "wrong version number"), so soma terminates TLS itself with `node:tls`
 * (ALPN `h2`) and pipes each connection to its gRPC server, which then listens on an ephemeral loopback port only.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";

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
  /** PEM CA certificates: clients must present a certificate they issued (TLS client authentication). */
  readonly clientCa?: string;
  /** Open connections; further ones are closed at once (default unlimited). */
  readonly maxConnections?: number;
  /** A TLS handshake must finish within this (default 10 000 ms). */
  readonly handshakeTimeoutMs?: number;
}): Promise<TlsFront> {
  const sockets = new Set<Socket | TLSSocket>();
  const clientAuth = options.clientCa === undefined
    ? {}
    : { ca: options.clientCa, requestCert: true, rejectUnauthorized: true };
  const server = createServer(
    {
      cert: options.cert,
      key: options.key,
      ALPNProtocols: ["h2"],
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      ...clientAuth,
    },
    (socket: TLSSocket) => pipeToTarget(socket, options.targetPort, sockets),
  );
  // Counts TCP connections, so handshakes that never finish count too (and end after handshakeTimeout).
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
  // A failed handshake only concerns that client.
  server.on("tlsClientError", (_error: Error, socket: TLSSocket) => socket.destroy());
  await listen(server, options.port, options.host);
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

/** Pipes a client's TLS connection to `127.0.0.1:targetPort` both ways; either side closing closes both. */
function pipeToTarget(socket: TLSSocket, targetPort: number, sockets: Set<Socket | TLSSocket>): void {
  const upstream = connect(targetPort, "127.0.0.1");
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
}

/** Starts listening; rejects when the port cannot be bound. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
