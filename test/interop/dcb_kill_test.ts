/**
 * soma killed with SIGKILL under a Java DCB client (issue 19, item 4): axonserver-connector-java's DcbEventChannel
 * (test/interop/dcb-java, `dcbinterop.Crash`) appends conditionally, one event at a time, each from the marker the
 * previous append returned; soma (a separate process) is killed after 40 acknowledgements, mid-stream. soma
 * restarted on the same data folder must hold every acknowledged event with its payload, and its consistency
 * check must still see them: a marker from before the crash is refused, the current one accepted.
 *
 * Skips (with a message) when `java` or `mvn` is missing.
 */
import { assert, assertEquals } from "../assert.ts";
import { buildDcbJava, JVM_FLAGS, results } from "./dcb_java.ts";
import { available } from "./java_app.ts";
import { SomaProcess } from "./soma_process.ts";

const TOKEN = "dcb-kill-token";
const KILL_AFTER = 40;
const ready = await available("java") && await available("mvn");
if (!ready) console.log("SKIPPED DCB kill -9 interop: `java` and `mvn` are needed (Java 17+, Maven 3.8+).");

/** Starts the Java client; `lines` yields its stdout line by line. */
function javaClient(classpath: string, mode: string, env: Record<string, string>) {
  const child = new Deno.Command("java", {
    args: [...JVM_FLAGS, "-cp", classpath, "dcbinterop.Crash", mode],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  return { child, lines: linesOf(child.stdout), stderr };
}

async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const bytes of stream) {
    const parts = (rest + decoder.decode(bytes, { stream: true })).split("\n");
    rest = parts.pop() ?? "";
    yield* parts;
  }
  if (rest) yield rest;
}

Deno.test({
  name: "DCB interop: every append the Java client saw acknowledged survives kill -9 of soma",
  ignore: !ready,
  async fn() {
    const classpath = await buildDcbJava();
    const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-kill-" });
    const run = crypto.randomUUID();
    let soma = await SomaProcess.start({ dataDir, token: TOKEN });
    try {
      const env = { SOMA_PORT: String(soma.port), SOMA_TOKEN: TOKEN, CRASH_RUN: run };
      const writer = javaClient(classpath, "write", env);
      const acked: string[] = [];
      const output: string[] = [];
      for await (const line of writer.lines) {
        output.push(line);
        const ack = /^ACK (\d+) (\d+)$/.exec(line);
        if (ack) {
          acked.push(`${ack[1]}:${ack[2]}`);
          if (acked.length === KILL_AFTER) await soma.kill();
        }
      }
      const status = await writer.child.status;
      const detail = `${output.slice(-10).join("\n")}\n${(await writer.stderr).slice(-2000)}`;
      assert(
        output.some((line) => line.startsWith("WRITE-ENDED after")),
        `the writer saw soma go:\n${detail}`,
      );
      assertEquals(status.success, true, detail);
      assert(acked.length >= KILL_AFTER, `only ${acked.length} appends acknowledged:\n${detail}`);

      soma = await SomaProcess.start({ dataDir, token: TOKEN });
      const verifier = javaClient(classpath, "verify", {
        ...env,
        SOMA_PORT: String(soma.port),
        ACKED: acked.join(","),
      });
      const verified = (await Array.fromAsync(verifier.lines)).join("\n");
      await verifier.child.status;
      assertEquals(
        results(verified).get("verify")?.split(" ")[0],
        "PASS",
        `${verified}\n${(await verifier.stderr).slice(-2000)}\nsoma:\n${soma.tail()}`,
      );
    } finally {
      await soma.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
