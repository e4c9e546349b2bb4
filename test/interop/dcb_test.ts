/**
 * An independent check of soma's DCB API: a Java program using axonserver-connector-java 2025.2.1's own
 * `DcbEventChannel` and `SnapshotChannel` (test/interop/dcb-java, Maven, no Axon Framework) runs its scenarios
 * against soma with an access token: append, source by criteria, conditional append that succeeds and one that
 * fails atomically, 20 concurrent conditional appends from one marker (exactly one wins), live stream, tags,
 * snapshots.
 *
 * Skips (with a message) when `java` or `mvn` is missing.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { assertEquals } from "../assert.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { available } from "./java_app.ts";

const TOKEN = "dcb-interop-token";
const SCENARIOS = [
  "append-and-source",
  "conditional-append",
  "concurrent-conditional-appends",
  "stream-live",
  "tags",
  "snapshots",
];
const project = fileURLToPath(new URL("./dcb-java", import.meta.url));

async function run(command: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  const decoder = new TextDecoder();
  return { ok: out.success, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** Compiles the Java program (offline first) into a cache folder outside the repository; returns the classpath. */
async function build(): Promise<string> {
  const target = join(tmpdir(), "dendrite-dcb-interop-target");
  const classpathFile = join(target, "classpath.txt");
  const args = ["-q", "compile", "dependency:build-classpath", `-Dmdep.outputFile=${classpathFile}`];
  const mvnArgs = [...args, `-Dinterop.target=${target}`];
  let result = await run("mvn", ["-o", ...mvnArgs], { cwd: project });
  if (!result.ok) result = await run("mvn", mvnArgs, { cwd: project });
  if (!result.ok) throw new Error(`The Maven build of ${project} failed:\n${result.output.slice(-4000)}`);
  return [join(target, "classes"), (await Deno.readTextFile(classpathFile)).trim()].join(":");
}

const ready = await available("java") && await available("mvn");
if (!ready) console.log("SKIPPED DCB interop: `java` and `mvn` are needed (Java 17+, Maven 3.8+).");

Deno.test({
  name: "DCB interop: axonserver-connector-java's DCB client runs its scenarios against soma",
  ignore: !ready,
  async fn() {
    const classpath = await build();
    const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-interop-" });
    const soma = await startSoma({ dataDir, port: 0, httpPort: false, accessToken: TOKEN });
    try {
      const result = await run("java", [
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        classpath,
        "dcbinterop.Main",
      ], { env: { SOMA_PORT: String(soma.port), SOMA_TOKEN: TOKEN }, signal: AbortSignal.timeout(120_000) });
      const lines = result.output.split("\n");
      const results = new Map<string, string>();
      for (const line of lines) {
        const match = /^RESULT (\S+) (PASS|FAIL) ?(.*)$/.exec(line);
        if (match) results.set(match[1], `${match[2]} ${match[3]}`);
      }
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
