/**
 * One program, four processes: soma, command, projection and api, joined through soma's gRPC port, behave like the
 * monolith. Killing the command process makes Greet fail promptly with a clear error; restarting it heals.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { type LogRecord, ProgramProcess } from "./processes.ts";

Deno.test({
  name:
    "roles: soma, command, projection and api as four processes greet, search, survive a command process restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-roles-" });
    const base = {
      DATA_DIR: dataDir,
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: "roles-test-password",
      LOG_LEVEL: "info",
      NO_COLOR: "1",
    };
    const processes: ProgramProcess[] = [];
    let sessions: Http2SessionManager | undefined;
    const start = (role: string, env: Record<string, string> = {}) => {
      const process = new ProgramProcess(role, [`--role=${role}`], { ...base, ...env });
      processes.push(process);
      return process;
    };
    try {
      const soma = start("soma", {
        AXON_PORT: "0",
        AXON_HTTP_PORT: "0",
        AXON_HOST: "127.0.0.1",
      });
      const listening = await soma.waitFor((r) => r.msg === "soma listening", "soma listening");
      const joined = { AXON_SERVER: `127.0.0.1:${listening.port}` };
      const connected = (r: LogRecord) => r.msg === "connected to the Axon server";
      let command = start("command", joined);
      const projection = start("projection", joined);
      const api = start("api", { ...joined, PORT: "0", GRPC_PORT: "0" });
      const apiUp = await api.waitFor((r) => r.msg === "listening", "the api listening");
      await Promise.all([
        command.waitFor(connected, "a connection"),
        projection.waitFor(connected, "a connection"),
      ]);

      const baseUrl = `http://127.0.0.1:${apiUp.port}`;
      // Our own session manager, so the session can be closed before the api process goes away: a GOAWAY from
      // a stopping server can abort a Deno 2.9.4–2.9.6 process inside nghttp2 (denoland/deno#36788).
      sessions = new Http2SessionManager(baseUrl);
      const client = createClient(
        GreeterService,
        createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: sessions }),
      );
      const greet = (message: string) => client.greet({ message }, { timeoutMs: 5_000 });
      const search = async (query: string) => {
        const found: string[] = [];
        for await (const greeting of client.search({ query })) found.push(greeting.message);
        return found;
      };

      await eventually(
        async () => {
          try {
            return (await greet("hello from the api process")).greetingId !== "";
          } catch {
            return false; // the command process may still be subscribing
          }
        },
        30_000,
        "a first greeting through the api process",
      );
      await eventually(
        async () => (await search("api process")).length === 1,
        30_000,
        "the greeting in Search",
      );

      const killed = await command.stop("SIGKILL");
      assertEquals(killed.signal, "SIGKILL");
      const started = performance.now();
      const failure = await greet("nobody handles this").then(() => undefined, (error) => error);
      const elapsed = performance.now() - started;
      assert(failure instanceof ConnectError, `expected a ConnectError, got ${failure}`);
      assertEquals(failure.code, Code.Unavailable);
      assert(elapsed < 5_000, `Greet failed in ${Math.round(elapsed)} ms, not promptly`);

      command = start("command", joined);
      await command.waitFor(connected, "a connection after the restart");
      await eventually(
        async () => {
          try {
            await greet("hello again");
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        "Greet after the command process restarted",
      );
      await eventually(
        async () => (await search("again")).length === 1,
        30_000,
        "the new greeting in Search",
      );

      // The live status through soma: the projection process publishes, the api process streams it.
      const watching = client.watchStatus({}, { signal: AbortSignal.timeout(30_000) })
        [Symbol.asyncIterator]();
      const first = await watching.next();
      assert(!first.done, "WatchStatus answers with the status now");
      await greet("watched from the api process");
      const next = await watching.next();
      assert(!next.done, "WatchStatus sends the change");
      assertEquals(next.value.greetingCount, first.value.greetingCount + 1n);
      await watching.return?.();
    } finally {
      sessions?.abort();
      const statuses = await Promise.all(processes.map((p) => p.stop()));
      await Deno.remove(dataDir, { recursive: true });
      for (const [i, status] of statuses.entries()) {
        if (status.signal === "SIGKILL") continue;
        assertEquals(
          status.code,
          0,
          `${processes[i].name} exited with ${status.code}: ${processes[i].tail()}`,
        );
      }
    }
  },
});
