/**
 * TLS client authentication on soma's gRPC port (`tls.clientCa`): soma listens beyond loopback without an access
 * token, which it allows only because clients must present a certificate its CA issued. A raw grpc-js client
 * without a client certificate, or with one from another CA, is refused; one with a certificate of that CA is
 * served.
 */
import { Buffer } from "node:buffer";
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import {
  createTestCertificates,
  hasOpenssl,
  type TestCertificates,
} from "../../src/dendrite/security/testing/certificates.ts";
import { startSoma, UnsafeExposureError } from "../../src/soma/mod.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { events, RawClient } from "./raw_client.ts";

const openssl = await hasOpenssl();
if (!openssl && Deno.env.get("CI")) {
  throw new Error("openssl is needed for the TLS tests (apt-get install openssl)");
}

const encode = (pem: string) => Buffer.from(pem);

function lastToken(
  port: number,
  certs: TestCertificates,
  client?: { key: string; cert: string },
): Promise<bigint> {
  const rawClient = new RawClient(port, {
    host: "localhost",
    credentials: credentials.createSsl(
      encode(certs.caCert),
      client ? encode(client.key) : null,
      client ? encode(client.cert) : null,
    ),
  });
  return rawClient.unary(events.getLastToken, {
    $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
  }, { deadline: Date.now() + 5_000 }).then((r) => r.token).finally(() => rawClient.close());
}

Deno.test({
  name:
    "soma with TLS client auth on all interfaces: refuses clients without a certificate of its CA, serves one with",
  ignore: !openssl,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await createTestCertificates();
    const other = await createTestCertificates();
    const dataDir = await Deno.makeTempDir({ prefix: "soma-mtls-" });
    const tls = { cert: certs.cert, key: certs.key };
    // Without client auth (and without a token), soma refuses to listen beyond loopback.
    await assertRejects(
      () => startSoma({ dataDir, host: "0.0.0.0", port: 0, httpPort: false, tls }),
      UnsafeExposureError,
    );
    const soma = await startSoma({
      dataDir,
      host: "0.0.0.0",
      port: 0,
      httpPort: false,
      tls: { ...tls, clientCa: certs.caCert },
    });
    try {
      const withoutCertificate = await assertRejects(() => lastToken(soma.port, certs)) as ServiceError;
      assertEquals(withoutCertificate.code, status.UNAVAILABLE, withoutCertificate.message);
      const foreign = await assertRejects(() =>
        lastToken(soma.port, certs, { key: other.clientKey, cert: other.clientCert })
      ) as ServiceError;
      assertEquals(foreign.code, status.UNAVAILABLE, foreign.message);

      assertEquals(await lastToken(soma.port, certs, { key: certs.clientKey, cert: certs.clientCert }), -1n);
    } finally {
      await soma.close();
      await certs.remove();
      await other.remove();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
