/**
 * An independent check of soma's DCB API: a Java program using axonserver-connector-java 2025.2.1's own
 * `DcbEventChannel` and `SnapshotChannel` (test/interop/dcb-java, Maven, no Axon Framework) runs its scenarios
 * against soma with an access token: append, source by criteria, conditional append that succeeds and one that
 * fails atomically, 20 concurrent conditional appends from one marker (exactly one wins), live stream, tags,
 * snapshots.
 *
 * Skips (with a message) when `java` or `mvn` is missing.
 */
import { assertEquals } from "../assert.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { available } from "./java_app.ts";
import { buildDcbJava, JVM_FLAGS, results as resultLines, run } from "./dcb_java.ts";

const TOKEN = "dcb-interop-token";
const SCENARIOS = [
  "append-and-source",
  "conditional-append",
  "concurrent-conditional-appends",
  "stream-live",
  "tags",
  "snapshots",
];
const ready = await available("java") && await available("mvn");
if (!ready) console.log("SKIPPED DCB interop: `java` and `mvn` are needed (Java 17+, Maven 3.8+).");

Deno.test({
  name: "DCB interop: axonserver-connector-java's DCB client runs its scenarios against soma",
  ignore: !ready,
  async fn() {
    const classpath = await buildDcbJava();
    const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-interop-" });
    const soma = await startSoma({ dataDir, port: 0, httpPort: false, accessToken: TOKEN });
    try {
      const result = await run("java", [
        ...JVM_FLAGS,
        "-cp",
        classpath,
        "dcbinterop.Main",
      ], { env: { SOMA_PORT: String(soma.port), SOMA_TOKEN: TOKEN }, signal: AbortSignal.timeout(120_000) });
      const lines = result.output.split("\n");
      const results = resultLines(result.output);
      const failed = SCENARIOS.filter((name) => !results.get(name)?.startsWith("PASS"))
        .map((name) => `${name}: ${results.get(name) ?? "no result line"}`);
      assertEquals(failed, [], `Java DCB scenarios failed; output tail:\n${lines.slice(-60).join("\n")}`);
      assertEquals(result.ok, true, `The JVM failed:\n${lines.slice(-60).join("\n")}`);
    } finally {
      await soma.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
