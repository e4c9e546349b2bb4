/**
 * TLS on both ports (issue 20, item 1): the front door (`Deno.serve` with the certificate) serves Connect over
 * HTTP/1.1 and grpc-web over HTTP/2 chosen by ALPN; the gRPC port serves grpc-js over TLS.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import { createTestCertificates, hasOpenssl } from "../../src/dendrite/security/testing/certificates.ts";
import { GreeterService, GreetRequestSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { silentLogger, startServer } from "../../src/server/mod.ts";
import { assertEquals } from "../assert.ts";
import { unary } from "./grpc_client.ts";
import { serviceDefinition } from "./grpc_client.ts";
import { GREETER, grpcWebBody, parseFrames, parseTrailer, TRAILER_FLAG } from "./wire.ts";

/** A grpc-web call over TLS HTTP/2 with node:http2; returns the negotiated ALPN protocol and the grpc-status. */
function grpcWebOverH2(url: string, ca: string, body: Uint8Array) {
  return new Promise<{ alpn: string | false | undefined; grpcStatus: string | undefined }>(
    (resolve, reject) => {
      const session = http2.connect(url, { ca });
      session.on("error", reject);
      const stream = session.request({
        ":method": "POST",
        ":path": `${GREETER}/Greet`,
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
      });
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("end", () => {
        const alpn = session.alpnProtocol;
        session.close();
        const trailer = parseFrames(Buffer.concat(chunks)).find((f) => (f.flags & TRAILER_FLAG) !== 0);
        resolve({ alpn, grpcStatus: trailer && parseTrailer(trailer.data).get("grpc-status") });
      });
      stream.end(body);
    },
  );
}

Deno.test({
  name: "TLS: Connect over HTTP/1.1 and grpc-web over h2 (ALPN) on the front door, grpc-js on the gRPC port",
  ignore: !(await hasOpenssl()),
  async fn() {
    const certs = await createTestCertificates();
    const server = await startServer({
      port: 0,
      grpcPort: 0,
      hostname: "127.0.0.1",
      tls: { cert: certs.cert, key: certs.key },
      logger: silentLogger,
      api: (router) =>
        router.service(GreeterService, { greet: (request) => ({ greetingId: request.message }) }),
    });
    const client = Deno.createHttpClient({ caCerts: [certs.caCert], http2: false });
    const Client = grpc.makeGenericClientConstructor(serviceDefinition(GreeterService), "Greeter");
    const grpcClient = new Client(
      `localhost:${server.grpcPort}`,
      grpc.credentials.createSsl(Buffer.from(certs.caCert)),
    );
    try {
      const response = await fetch(
        `https://localhost:${server.port}${GREETER}/Greet`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: "over tls" }),
          client,
        } as RequestInit & { client: Deno.HttpClient },
      );
      assertEquals([response.status, await response.json()], [200, { greetingId: "over tls" }]);

      const web = await grpcWebOverH2(
        `https://localhost:${server.port}`,
        certs.caCert,
        grpcWebBody(GreetRequestSchema, { message: "h2" }),
      );
      assertEquals(web, { alpn: "h2", grpcStatus: "0" });

      const answer = await unary(grpcClient, GreeterService.method.greet, { message: "grpc over tls" });
      assertEquals(answer.greetingId, "grpc over tls");
    } finally {
      grpcClient.close();
      client.close();
      await server.shutdown();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
