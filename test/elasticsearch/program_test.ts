/**
 * The program on a real Elasticsearch, as real processes (skipped without ELASTICSEARCH_URL): soma, a
 * command + api process and a projection process whose query model and tokens live in Elasticsearch. Greet →
 * Search finds it; the live list (Greetings) gets new greetings, and a Search right after a live update sees
 * that greeting (the batch's bulk request refreshes before updates are published); Stop/Record show in
 * GetStatus; a restarted projection process keeps the model and its tokens (no greeting is written again).
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Client } from "@elastic/elasticsearch";
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { AuthService } from "../../src/gen/dendrite/security/v1/auth_pb.ts";
import { GREETER_PROJECTION } from "../../src/example/greeter/mod.ts";
import { ProgramProcess } from "../roles/processes.ts";

const url = Deno.env.get("ELASTICSEARCH_URL");
const skip = url ? false : "ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)";
if (skip) console.log(`Skipping the program on Elasticsearch: ${skip}`);

Deno.test({
  name: "Elasticsearch: the program greets, searches, updates the live list, records and restarts on it",
  ignore: Boolean(skip),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-es-program-" });
    const prefix = `dendrite-test-${crypto.randomUUID().slice(0, 8)}-`;
    const es = new Client({ node: url! });
    const password = "es-program-test-password";
    const base = {
      DATA_DIR: dataDir,
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: password,
      LOG_LEVEL: "info",
      NO_COLOR: "1",
    };
    const processes: ProgramProcess[] = [];
    const start = (roles: string, env: Record<string, string>) => {
      const process = new ProgramProcess(roles, [`--role=${roles}`], { ...base, ...env });
      processes.push(process);
      return process;
    };
    const live = new AbortController();
    let sessions: Http2SessionManager | undefined;
    try {
      const soma = start("soma", {
        AXON_PORT: "0",
        AXON_HTTP_PORT: "0",
        AXON_HOST: "127.0.0.1",
      });
      const somaUp = await soma.waitFor((r) => r.msg === "soma listening", "soma listening");
      const joined = { AXON_SERVER: `127.0.0.1:${somaUp.port}` };
      const query = { ...joined, ELASTICSEARCH_URL: url!, ELASTICSEARCH_INDEX_PREFIX: prefix };
      const front = start("command,api", { ...joined, PORT: "0", GRPC_PORT: "0" });
      let projection = start("projection", query);
      const apiUp = await front.waitFor((r) => r.msg === "listening", "the api listening");
      const baseUrl = `http://127.0.0.1:${apiUp.port}`;
      // Our own session manager, closed before the api process goes away (see test/roles/split_test.ts).
      sessions = new Http2SessionManager(baseUrl);
      const transport = createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: sessions });
      const greeter = createClient(GreeterService, transport);
      const search = async (q: string) => {
        const found: string[] = [];
        for await (const greeting of greeter.search({ query: q })) found.push(greeting.message);
        return found.sort();
      };
      // While a projection process is (re)starting, its query handlers may not be subscribed yet.
      const found = (q: string, n: number) =>
        search(q).then((hits) => hits.length === n, (error) => {
          if (error instanceof ConnectError && error.code === Code.Unavailable) return false;
          throw error;
        });
      const greet = (message: string) => greeter.greet({ message }, { timeoutMs: 5_000 });

      let first = "";
      await eventually(
        async () => {
          try {
            first = (await greet("hello elastic world")).greetingId;
            return true;
          } catch {
            return false; // the command process may still be subscribing
          }
        },
        30_000,
        "a first greeting",
      );
      await eventually(() => found("elastic", 1), 30_000, "the greeting in Search");

      // The live list: the existing greeting first, then new ones as the projection writes them.
      const seen: string[] = [];
      const listed = (async () => {
        for await (const g of greeter.greetings({}, { signal: live.signal })) seen.push(g.message);
      })().catch((error) => {
        if (!live.signal.aborted) throw error;
      });
      await eventually(
        () => seen.includes("hello elastic world"),
        10_000,
        "the live list's initial greeting",
      );
      await greet("second greeting, live");
      await eventually(() => seen.includes("second greeting, live"), 10_000, "the live update");
      // Refresh semantics: the update went out after the batch's refreshed bulk, so this Search sees it at once.
      assertEquals(await search("second live"), ["second greeting, live"]);

      // Stop and Record (admin only), read back from the query model in Elasticsearch.
      const token =
        (await createClient(AuthService, transport).login({ identifier: "admin", password })).token;
      const admin = { headers: { authorization: `Bearer ${token}` } };
      assertEquals((await greeter.stop({}, admin)).recording, false);
      await eventually(async () => !(await greeter.getStatus({})).recording, 10_000, "GetStatus: stopped");
      const refused = await greet("refused").then(() => undefined, (error) => error);
      assert(refused instanceof ConnectError && refused.code === Code.FailedPrecondition, String(refused));
      assertEquals((await greeter.record({}, admin)).recording, true);
      await eventually(async () => (await greeter.getStatus({})).recording, 10_000, "GetStatus: recording");

      // Restart: the model and the tokens stay; nothing is written again (each greeting's _version stays 1).
      const version = async (id: string) => (await es.get({ index: `${prefix}greetings`, id }))._version;
      assertEquals(await version(first), 1);
      assertEquals((await projection.stop()).code, 0, projection.tail());
      const tokens = await es.search({ index: `${prefix}tokens`, size: 100, query: { match_all: {} } });
      assert(tokens.hits.hits.length >= 4, "the tokens are in Elasticsearch");
      projection = start("projection", query);
      await projection.waitFor((r) => r.msg === "connected to the Axon server", "a connection", 30_000);
      const third = (await greet("third after the restart")).greetingId;
      await eventually(() => found("restart", 1), 30_000, "the third greeting");
      assertEquals(await search("hello OR second* OR third"), []);
      assertEquals(await search("sec* live"), ["second greeting, live"]);
      assertEquals(await version(first), 1, "the first greeting was not replayed");
      assertEquals(await version(third), 1);
      assertEquals((await greeter.getStatus({})).recording, true);

      // The status page lists the processor without an error.
      let processors = "";
      await eventually(
        async () => {
          processors = await (await fetch(`http://127.0.0.1:${somaUp.httpPort}/v1/processors`, {
            headers: {
              "axoniq-access-token": (await Deno.readTextFile(join(dataDir, "secure", "soma-token"))).trim(),
            },
          })).text();
          return processors.includes(GREETER_PROJECTION);
        },
        20_000,
        "the processor on soma's status page",
      );
      assert(!processors.includes('"error":true'), processors);
      live.abort();
      await listed;
    } finally {
      live.abort();
      sessions?.abort();
      const statuses = await Promise.all(processes.map((p) => p.stop()));
      await es.indices.delete({
        index: ["greetings", "greeters", "tokens"].map((n) => `${prefix}${n}`),
        ignore_unavailable: true,
      });
      await es.close();
      await Deno.remove(dataDir, { recursive: true });
      for (const [i, status] of statuses.entries()) {
        assertEquals(
          status.code,
          0,
          `${processes[i].name} exited with ${status.code}: ${processes[i].tail()}`,
        );
      }
    }
  },
});
