/**
 * One TLS port (HTTP/2 with HTTP/1.1 fallback) serving a connect-es service: reachable for clients that trust
 * the test CA, refused for those that do not.
 */
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { ChallengeService } from "../../gen/dendrite/security/v1/auth_pb.ts";
import { ChallengeStore } from "./challenges.ts";
import { createTestCertificates, hasOpenssl } from "./testing/certificates.ts";
import { loadTls } from "./tls.ts";

Deno.test({
  name: "a TLS listener is reachable by clients that trust the CA and refused by the others",
  ignore: !(await hasOpenssl()),
  async fn() {
    const certs = await createTestCertificates();
    const challenges = new ChallengeStore();
    const tls = await loadTls({ certFile: certs.certFile, keyFile: certs.keyFile, caFile: certs.caCertFile });
    const server = http2.createSecureServer(
      { cert: tls.cert, key: tls.key, allowHTTP1: true },
      connectNodeAdapter({
        routes: (router) => {
          router.service(ChallengeService, {
            getChallenge: () => {
              const { nonce, expiresAt } = challenges.issue();
              return { nonce, expiresAt: BigInt(expiresAt) };
            },
          });
        },
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `https://localhost:${(server.address() as AddressInfo).port}`;
    const trusting = new Http2SessionManager(url, undefined, { ca: tls.ca });
    const untrusting = new Http2SessionManager(url);
    const httpClient = Deno.createHttpClient({ caCerts: [tls.ca!] });
    try {
      // gRPC over HTTP/2 with the CA.
      const client: Client<typeof ChallengeService> = createClient(
        ChallengeService,
        createGrpcTransport({ baseUrl: url, sessionManager: trusting }),
      );
      assertEquals((await client.getChallenge({})).nonce.length, 32);
      // Connect over HTTP/1.1 (fetch) with the CA.
      // The "dom" lib's RequestInit has no `client`; Deno's fetch reads it.
      const init: RequestInit & { client: Deno.HttpClient } = {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        client: httpClient,
      };
      const response = await fetch(`${url}/dendrite.security.v1.ChallengeService/GetChallenge`, init);
      assertEquals(response.status, 200);
      assert(typeof (await response.json()).nonce === "string");
      // Without the CA: refused by both.
      const refused = createClient(
        ChallengeService,
        createGrpcTransport({ baseUrl: url, sessionManager: untrusting }),
      );
      const error = await assertRejects(() => refused.getChallenge({}), ConnectError);
      assert(/certificate|self.signed|unknown|issuer/i.test(error.message), error.message);
      await assertRejects(() =>
        fetch(`${url}/dendrite.security.v1.ChallengeService/GetChallenge`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        })
      );
    } finally {
      trusting.abort();
      untrusting.abort();
      httpClient.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await certs.remove();
    }
  },
});

Deno.test("loadTls() names a missing or non-PEM file without printing it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.pem`, "secret-material");
    await assertRejects(
      () => loadTls({ certFile: `${dir}/none.pem`, keyFile: `${dir}/bad.pem` }),
      Error,
      "none.pem",
    );
    const error = await assertRejects(() =>
      loadTls({ certFile: `${dir}/bad.pem`, keyFile: `${dir}/bad.pem` })
    );
    assert(error.message.includes("bad.pem") && !error.message.includes("secret-material"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
