/**
 * Serves a `Request → Response` handler over HTTP/1.1 on `node:http`.
 *
 * Why not `Deno.serve`: it answers `400` with an empty body to a request that carries `Upgrade: h2c` together
 * with `Content-Length: 0`, which is exactly what Java's built-in `HttpClient` sends on its first request.
 * `node:http` serves such a request normally (the upgrade is ignored: the answer is plain HTTP/1.1).
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Buffer } from "node:buffer";

/** A running listener. */
export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

async function toRequest(incoming: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const method = incoming.method ?? "GET";
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(Buffer.from(chunk));
    body = new Uint8Array(Buffer.concat(chunks));
  }
  return new Request(new URL(incoming.url ?? "/", origin), { method, headers, body });
}

async function send(response: Response, outgoing: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => headers[name] = value);
  const body = new Uint8Array(await response.arrayBuffer());
  headers["content-length"] = String(body.byteLength);
  outgoing.writeHead(response.status, headers);
  outgoing.end(body);
}

/** Serves `handler` on `hostname:port` (port 0 picks a free port); `onError` turns a thrown error into a response. */
export function serveHttp(
  handler: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
  onError: (error: unknown) => Response,
): Promise<HttpListener> {
  const server = createServer((incoming, outgoing) => {
    const origin = `http://${incoming.headers.host ?? `${hostname}:${port}`}`;
    toRequest(incoming, origin)
      .then(handler)
      .catch(onError)
      .then((response) => send(response, outgoing))
      .catch(() => outgoing.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
