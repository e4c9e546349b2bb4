/**
 * The program as a real child process for the processing tests: soma embedded with the greeter's command and
 * projection roles over a temporary data directory, events appended through soma's gRPC port, and the query model
 * read from the process's own SQLite file.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import { MessageRegistry } from "../../src/dendrite/mod.ts";
import { SqliteDocumentStore } from "../../src/dendrite/sqlite/mod.ts";
import { type GreeterDocument, greeterModel, type GreetingDocument } from "../../src/example/greeter/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { type Event, EventSchema } from "../../src/gen/axon/event_pb.ts";
import { events, RawClient } from "../soma/raw_client.ts";
import { ProgramProcess } from "../roles/processes.ts";

/** soma's access token in these tests (`AXON_TOKEN`): gRPC calls and the status surface need it. */
export const SOMA_TOKEN = "processing-test-token";

/** Headers of a call to soma's status surface. */
export const somaHeaders = { "AxonIQ-Access-Token": SOMA_TOKEN };

/** A running program process with its soma ports. */
export interface RunningProgram {
  readonly process: ProgramProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
}

/** The program's settings in these tests: `dataDir`, every port ephemeral, soma's token, logs at info. */
function programEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    PORT: "0",
    GRPC_PORT: "0",
    AXON_PORT: "0",
    AXON_HTTP_PORT: "0",
    AXON_HOST: "127.0.0.1",
    AXON_TOKEN: SOMA_TOKEN,
    LOG_LEVEL: "info",
    NO_COLOR: "1",
  };
}

/** Starts `src/main.ts --role=command,projection` (soma embedded) on `dataDir`; resolves once soma listens. */
export async function startProgramProcess(
  name: string,
  dataDir: string,
  env: Record<string, string> = {},
  options: { readonly script?: string; readonly denoArgs?: readonly string[] } = {},
): Promise<RunningProgram> {
  const process = new ProgramProcess(
    name,
    ["--role=command,projection"],
    { ...programEnv(dataDir), ...env },
    options,
  );
  const listening = await process.waitFor((r) => r.msg === "soma listening", "soma listening");
  return { process, grpcPort: Number(listening.port), httpPort: Number(listening.httpPort) };
}

/**
 * Starts `src/main.ts --role=all` (soma embedded, the API on ephemeral ports) on `dataDir`, with `env` on top;
 * callers wait for its `soma listening` and `listening` lines.
 */
export function startAllRoles(
  dataDir: string,
  env: Record<string, string>,
  options: { readonly denoArgs?: readonly string[] } = {},
): ProgramProcess {
  return new ProgramProcess("program", ["--role=all"], {
    ...programEnv(dataDir),
    DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
    DENDRITE_ADMIN_PASSWORD: "processing-test-password",
    ...env,
  }, options);
}

/** The payload revision the upcaster of `fixtures/program_with_upcaster.ts` lifts (a JSON GreetedEvent). */
export const LEGACY_REVISION = "legacy-json";

const registry = new MessageRegistry([domain.GreetedEventSchema]);

/** A greeter's events as the command side would store them, with their own sequence numbers. */
export class Greeters {
  readonly #sequences = new Map<string, number>();

  /** The next GreetedEvent of `greeterId` (payload overridable, e.g. with an unknown revision). */
  greeted(
    greeterId: string,
    message: string,
    payload?: { readonly revision: string; readonly data: Uint8Array },
  ): Event {
    const sequence = (this.#sequences.get(greeterId) ?? -1) + 1;
    this.#sequences.set(greeterId, sequence);
    const encoded = registry.encode(create(domain.GreetedEventSchema, { greeterId, message }));
    return create(EventSchema, {
      messageIdentifier: crypto.randomUUID(),
      aggregateIdentifier: greeterId,
      aggregateSequenceNumber: BigInt(sequence),
      aggregateType: "example.v1.Greeter",
      timestamp: BigInt(Date.now()),
      payload: {
        type: encoded.type,
        revision: payload?.revision ?? encoded.revision,
        data: payload?.data ?? encoded.data,
      },
    });
  }
}

/** Appends events in one transaction through soma's gRPC event store. */
export async function append(port: number, batch: readonly Event[]): Promise<void> {
  const client = new RawClient(port, { token: SOMA_TOKEN });
  try {
    await client.clientStream(events.appendEvent, batch);
  } finally {
    client.close();
  }
}

/** Opens the program's query model (its `query.sqlite`) to read what the projection wrote. */
export function openQueryModel(dataDir: string): {
  greeting(id: string): Promise<GreetingDocument | undefined>;
  greeter(id: string): Promise<GreeterDocument | undefined>;
  close(): void;
} {
  const store = new SqliteDocumentStore({ path: join(dataDir, "query.sqlite") });
  const model = greeterModel(store);
  return {
    greeting: async (id) => (await model.greetings.get(id)) ?? undefined,
    greeter: async (id) => (await model.greeters.get(id)) ?? undefined,
    close: () => store.close(),
  };
}
