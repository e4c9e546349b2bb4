/**
 * Elasticsearch goes away under load (skipped without ELASTICSEARCH_URL or without Java 21+ for a second server):
 * the test starts its own Elasticsearch (`scripts/elasticsearch.sh`), runs the program on it as a real process,
 * greets continuously, kills the server JVM with SIGKILL midway and starts it again on the same data. Commands
 * keep working throughout; the processor backs off and shows the error on soma's status page; once the server is
 * back it catches up and every greeting is in the query model — none lost, none twice.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Client } from "@elastic/elasticsearch";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { ProgramProcess } from "../roles/processes.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/elasticsearch.sh", import.meta.url));
const url = Deno.env.get("ELASTICSEARCH_URL");
const java = url
  ? new Deno.Command(SCRIPT, { args: ["java"], stdout: "null", stderr: "null" }).outputSync()
  : undefined;
const skip = !url
  ? "ELASTICSEARCH_URL is not set (no Elasticsearch here)"
  : !java?.success
  ? "no Java 21+ to start a second Elasticsearch (scripts/elasticsearch.sh java)"
  : false;
if (skip) console.log(`Skipping the Elasticsearch fault test: ${skip}`);

interface Segment {
  readonly error: string;
  readonly tokenPosition: number;
}
interface ProcessorView {
  readonly name: string;
  readonly instances: readonly { readonly segments: readonly Segment[] }[];
}

/** Runs `scripts/elasticsearch.sh <command>` for the instance in `env`; returns its stdout (throws on failure). */
async function script(command: string, env: Record<string, string>): Promise<string> {
  const result = await new Deno.Command(SCRIPT, { args: [command], env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  if (!result.success) throw new Error(`elasticsearch.sh ${command} failed: ${text.decode(result.stderr)}`);
  return text.decode(result.stdout).trim();
}

Deno.test({
  name: "Elasticsearch: killed under load and restarted, the processor reports, backs off and catches up",
  ignore: Boolean(skip),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dendrite-es-faults-" });
    await Deno.chmod(dir, 0o755); // the server may run as another user (esrun) and keeps its data below
    // The script picks the port (below the ephemeral range, so no test listening on port 0 takes it while the
    // server boots); the restart reuses it, as the program keeps its ELASTICSEARCH_URL.
    const instance: Record<string, string> = {
      ES_STATE_DIR: join(dir, "state"),
      ES_DATA_DIR: join(dir, "es-data"),
    };
    let program: ProgramProcess | undefined;
    let sessions: Http2SessionManager | undefined;
    try {
      const esUrl = await script("start", instance);
      instance.ES_PORT = new URL(esUrl).port;
      const es = new Client({ node: esUrl });
      program = new ProgramProcess("program", [], {
        DATA_DIR: join(dir, "program"),
        DENDRITE_ROOT_KEY_MODULE: join(dir, "root_key.generated.ts"),
        DENDRITE_ADMIN_PASSWORD: "es-faults-test-password",
        ELASTICSEARCH_URL: esUrl,
        PORT: "0",
        AXON_PORT: "0",
        AXON_HTTP_PORT: "0",
        LOG_LEVEL: "info",
        NO_COLOR: "1",
      });
      const somaUp = await program.waitFor((r) => r.msg === "soma listening", "soma listening");
      const apiUp = await program.waitFor((r) => r.msg === "listening", "the api listening");
      const baseUrl = `http://127.0.0.1:${apiUp.port}`;
      sessions = new Http2SessionManager(baseUrl);
      const greeter = createClient(
        GreeterService,
        createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: sessions }),
      );
      const segments = async () => {
        const token = await Deno.readTextFile(join(dir, "program", "secure", "soma-token"));
        const response = await fetch(`http://127.0.0.1:${somaUp.httpPort}/v1/processors`, {
          headers: { "axoniq-access-token": token.trim() },
        });
        if (!response.ok) throw new Error(`/v1/processors: ${response.status} ${await response.text()}`);
        const views = await response.json() as ProcessorView[];
        return views.flatMap((v) => v.instances.flatMap((i) => i.segments));
      };
      let greeted = 0;
      const greetSome = async (n: number) => {
        for (let i = 0; i < n; i++) {
          await greeter.greet({ message: `load ${greeted} under faults` }, { timeoutMs: 5_000 });
          greeted++;
        }
      };
      await greetSome(50);
      await eventually(
        async () => (await es.count({ index: "dendrite-greetings" })).count === 50,
        20_000,
        "50 in ES",
      );

      const serverPid = Number(await script("pid", instance));
      Deno.kill(serverPid, "SIGKILL");
      await greetSome(50); // commands keep working while the query side is down
      let reported = "";
      await eventually(
        async () => {
          reported = (await segments()).find((s) => s.error !== "")?.error ?? "";
          return reported !== "";
        },
        20_000,
        "the processor's error on soma's status page",
      );
      console.log(`reported while Elasticsearch was down: ${reported.slice(0, 160)}`);
      await greetSome(50);

      await script("stop", instance);
      await script("start", instance);
      await greetSome(50);
      await eventually(
        async () =>
          (await es.count({ index: "dendrite-greetings" }).catch(() => ({ count: -1 }))).count === greeted,
        60_000,
        `all ${greeted} greetings in Elasticsearch after the restart`,
      );
      await eventually(
        async () => (await segments()).every((s) => s.error === ""),
        20_000,
        "the error cleared",
      );
      const status = await es.search<{ doc: { greetingCount: number } }>({ index: "dendrite-greeters" });
      assertEquals(status.hits.hits.map((h) => h._source?.doc.greetingCount), [greeted]);
      const found: string[] = [];
      for await (const g of greeter.search({ query: "faults", limit: 1_000 })) found.push(g.message);
      assertEquals(new Set(found).size, greeted);
      await es.close();
    } finally {
      sessions?.abort();
      const status = await program?.stop();
      await script("stop", instance).catch((error) => console.error(error));
      await Deno.remove(dir, { recursive: true });
      if (status) assert(status.code === 0, `the program exited with ${status.code}: ${program?.tail()}`);
    }
  },
});
