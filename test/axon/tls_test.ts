/**
 * TLS between the connector and soma: a connector that trusts the CA talks to soma over TLS; one that does not
 * trust it, or that speaks plaintext, never connects.
 */
import { MessageRegistry } from "../../src/dendrite/mod.ts";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { createTestCertificates, hasOpenssl } from "../../src/dendrite/security/testing/certificates.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { assertEquals, assertRejects } from "../assert.ts";

const openssl = await hasOpenssl();
if (!openssl && Deno.env.get("CI")) {
  throw new Error("openssl is needed for the TLS tests (apt-get install openssl)");
}

Deno.test({
  name: "connector → soma over TLS: verified with the CA, refused without it",
  ignore: !openssl,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await createTestCertificates();
    const dataDir = await Deno.makeTempDir({ prefix: "soma-tls-" });
    const soma = await startSoma({
      dataDir,
      port: 0,
      httpPort: false,
      tls: { cert: certs.cert, key: certs.key },
    });
    const options = { address: `localhost:${soma.port}`, componentName: "tls-test", onStateChange: () => {} };
    try {
      const trusted = await connectAxon(
        { ...options, tls: { ca: new TextEncoder().encode(certs.caCert) } },
        new MessageRegistry(),
        AbortSignal.timeout(15_000),
      );
      assertEquals(await trusted.eventStore.lastToken(), -1);
      await trusted.close();

      // Signals that abort: connect keeps retrying until then, and never succeeds.
      await assertRejects(() =>
        connectAxon({ ...options, tls: {} }, new MessageRegistry(), AbortSignal.timeout(1_500))
      );
      await assertRejects(() => connectAxon(options, new MessageRegistry(), AbortSignal.timeout(1_500)));
    } finally {
      await soma.close();
      await certs.remove();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
