/**
 * Exactly once under crashes: clients greet through the API with an idempotency key per greeting and retry
 * ambiguous failures with the same key; the command process (split mode) or the whole program (embedded mode) is
 * killed with SIGKILL under that load and restarted. Every greeting ends up stored exactly once, and every client
 * got the id of that one stored greeting.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { type LogRecord, ProgramProcess } from "../roles/processes.ts";
import {
  AnswerCount,
  ApiEndpoint,
  exactlyOnce,
  greetingClient,
  SOMA_TOKEN,
  storedGreetings,
} from "./greeting_load.ts";

const CLIENTS = 16;
const GREETINGS = 30;
/** A kill after this many answers, each. */
const KILL_AFTER = [CLIENTS * 4, CLIENTS * 12, CLIENTS * 20];

function programEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
    DENDRITE_ADMIN_PASSWORD: "faults-test-password",
    LOG_LEVEL: "info",
    NO_COLOR: "1",
    AXON_TOKEN: SOMA_TOKEN,
  };
}

const listening = (r: LogRecord) => r.msg === "listening";
const connected = (r: LogRecord) => r.msg === "connected to the Axon server";

/** Runs the clients while `crash` does its kills; returns what the clients saw. */
async function underLoad(endpoint: ApiEndpoint, crash: (answers: AnswerCount) => Promise<void>) {
  const answers = new AnswerCount();
  const deadline = Date.now() + 60_000;
  const clients = Array.from(
    { length: CLIENTS },
    (_, c) => greetingClient(endpoint, `client${c}`, GREETINGS, deadline, answers.add),
  );
  await crash(answers);
  return await Promise.all(clients);
}

Deno.test({
  name: "faults: kill -9 of the command process under load, clients retry with their key: each greeting once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "faults-split-" });
    const processes: ProgramProcess[] = [];
    const endpoint = new ApiEndpoint();
    const start = (role: string, env: Record<string, string>) => {
      const process = new ProgramProcess(role, [`--role=${role}`], { ...programEnv(dataDir), ...env });
      processes.push(process);
      return process;
    };
    try {
      const soma = start("soma", {
        AXON_PORT: "0",
        AXON_HTTP_PORT: "0",
        AXON_HOST: "127.0.0.1",
      });
      const somaPort = (await soma.waitFor((r) => r.msg === "soma listening", "soma listening"))
        .port as number;
      const joined = { AXON_SERVER: `127.0.0.1:${somaPort}` };
      let command = start("command", joined);
      const api = start("api", { ...joined, PORT: "0", GRPC_PORT: "0" });
      endpoint.set(`http://127.0.0.1:${(await api.waitFor(listening, "the api listening")).port}`);
      await command.waitFor(connected, "a connection");

      let kills = 0;
      const records = await underLoad(endpoint, async (answers) => {
        for (const after of KILL_AFTER) {
          await answers.reach(after, 60_000);
          await command.stop("SIGKILL");
          kills++;
          command = start("command", joined);
          await command.waitFor(connected, "a connection after the restart");
        }
      });
      assertEquals(kills, KILL_AFTER.length);
      const retried = records.reduce((sum, record) => sum + record.retries, 0);
      assert(retried > 0, "no client saw a failure: the kills hit nothing");
      assertEquals(records.reduce((sum, record) => sum + record.answered.size, 0), CLIENTS * GREETINGS);
      const stored = await storedGreetings(somaPort, SOMA_TOKEN);
      assertEquals(exactlyOnce(records, stored), []);
      assertEquals(stored.size, CLIENTS * GREETINGS);
      console.log(
        `split mode: ${CLIENTS * GREETINGS} greetings, ${retried} retries after ${kills} kills, none doubled`,
      );
    } finally {
      endpoint.close();
      await Promise.all(processes.map((p) => p.stop()));
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "faults: kill -9 of the whole program under load, restart, clients retry with their key: each greeting once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "faults-embedded-" });
    const endpoint = new ApiEndpoint();
    const env = {
      ...programEnv(dataDir),
      PORT: "0",
      GRPC_PORT: "0",
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      AXON_HOST: "127.0.0.1",
    };
    let program = new ProgramProcess("program", [], env);
    try {
      endpoint.set(`http://127.0.0.1:${(await program.waitFor(listening, "the program listening")).port}`);
      const records = await underLoad(endpoint, async (answers) => {
        for (const after of KILL_AFTER) {
          await answers.reach(after, 60_000);
          await program.stop("SIGKILL");
          program = new ProgramProcess("program", [], env);
          endpoint.set(
            `http://127.0.0.1:${(await program.waitFor(listening, "the restart listening")).port}`,
          );
        }
      });
      const retried = records.reduce((sum, record) => sum + record.retries, 0);
      assert(retried > 0, "no client saw a failure: the kills hit nothing");
      const somaPort = (await program.waitFor((r) => r.msg === "soma listening", "soma listening"))
        .port as number;
      const stored = await storedGreetings(somaPort, SOMA_TOKEN);
      assertEquals(exactlyOnce(records, stored), []);
      assertEquals(stored.size, CLIENTS * GREETINGS);
      console.log(
        `embedded mode: ${
          CLIENTS * GREETINGS
        } greetings, ${retried} retries after ${KILL_AFTER.length} kills, none doubled`,
      );
    } finally {
      endpoint.close();
      await program.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
