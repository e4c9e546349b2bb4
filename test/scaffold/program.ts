/**
 * A scaffolded copy's program as a real process (soma embedded, ephemeral ports, a temporary data folder) and
 * plain Connect calls to it over HTTP/1.1 with `fetch`, as curl would make them.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ProgramProcess } from "../roles/processes.ts";

/** soma's access token in these tests (the status surface needs it). */
const SOMA_TOKEN = "scaffold-test-token";
const ADMIN_PASSWORD = "scaffold-test-password";

/** A running program of a copy. */
export interface CopyProgram {
  readonly process: ProgramProcess;
  /** The API's base URL. */
  readonly baseUrl: string;
  /** The processor names on soma's dashboard (`GET /v1/processors`). */
  processors(): Promise<string[]>;
  /** Stops the process and removes its data folder. */
  stop(): Promise<void>;
}

/** Starts `src/main.ts` of the copy in `dir`; resolves once the API listens. */
export async function startCopy(dir: string): Promise<CopyProgram> {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-scaffold-data-" });
  const process = new ProgramProcess("copy", [], {
    DATA_DIR: dataDir,
    DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
    DENDRITE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PORT: "0",
    AXON_PORT: "0",
    AXON_HTTP_PORT: "0",
    AXON_HOST: "127.0.0.1",
    AXON_TOKEN: SOMA_TOKEN,
    LOG_LEVEL: "info",
    NO_COLOR: "1",
  }, { script: join(dir, "src/main.ts") });
  try {
    const soma = await process.waitFor((r) => r.msg === "soma listening", "soma listening", 120_000);
    const api = await process.waitFor((r) => r.msg === "listening", "the API listening", 120_000);
    return {
      process,
      baseUrl: `http://127.0.0.1:${api.port}`,
      async processors() {
        const response = await fetch(`http://127.0.0.1:${soma.httpPort}/v1/processors`, {
          headers: { "AxonIQ-Access-Token": SOMA_TOKEN },
        });
        assertEquals(response.status, 200);
        return ((await response.json()) as { name: string }[]).map((view) => view.name);
      },
      async stop() {
        await process.stop();
        await Deno.remove(dataDir, { recursive: true });
      },
    };
  } catch (error) {
    await process.stop();
    await Deno.remove(dataDir, { recursive: true });
    throw error;
  }
}

/** A Connect unary call with a JSON body: the HTTP status and the JSON answer. */
export async function connectCall(
  baseUrl: string,
  procedure: string,
  body: Record<string, unknown>,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/${procedure}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, json: await response.json() as Record<string, unknown> };
}

/** Signs in as the embedded admin; returns the JWT. */
export async function login(baseUrl: string): Promise<string> {
  const { status, json } = await connectCall(baseUrl, "dendrite.security.v1.AuthService/Login", {
    identifier: "admin",
    password: ADMIN_PASSWORD,
  });
  assertEquals(status, 200, JSON.stringify(json));
  assert(typeof json.token === "string", JSON.stringify(json));
  return json.token;
}
