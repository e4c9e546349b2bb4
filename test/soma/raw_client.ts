/**
 * A raw grpc-js client for soma's protocol tests, built from the generated descriptors through
 * `src/dendrite/axon/protocol/grpc.ts` only (independent of any connector), plus small helpers to read streams.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  Metadata,
  type MethodDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import { spawnReady } from "../child.ts";
import { CommandService } from "../../src/gen/axon/command_pb.ts";
import { FlowControlSchema, type InstructionAck } from "../../src/gen/axon/common_pb.ts";
import { PlatformService } from "../../src/gen/axon/control_pb.ts";
import { EventScheduler, EventStore } from "../../src/gen/axon/event_pb.ts";
import { QueryService } from "../../src/gen/axon/query_pb.ts";
import { readSomaToken, type Soma, type SomaOptions, startSoma } from "../../src/soma/mod.ts";

export const platform = grpcService(PlatformService);
export const commands = grpcService(CommandService);
export const queries = grpcService(QueryService);
export const events = grpcService(EventStore);
export const scheduler = grpcService(EventScheduler);

/** Headers a test client sends. */
export interface RawClientOptions {
  readonly context?: string;
  readonly token?: string;
  readonly channel?: ChannelOptions;
  /** Default: plaintext to `127.0.0.1`. */
  readonly credentials?: ChannelCredentials;
  /** Host name to connect to (default `127.0.0.1`; e.g. `localhost` to match a test certificate). */
  readonly host?: string;
}

/** A grpc-js client with typed helpers per call shape. */
export class RawClient {
  readonly client: Client;
  readonly #options: RawClientOptions;

  constructor(port: number, options: RawClientOptions = {}) {
    this.client = new Client(
      `${options.host ?? "127.0.0.1"}:${port}`,
      options.credentials ?? credentials.createInsecure(),
      options.channel,
    );
    this.#options = options;
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set("AxonIQ-Context", this.#options.context ?? "default");
    if (this.#options.token !== undefined) metadata.set("AxonIQ-Access-Token", this.#options.token);
    return metadata;
  }

  unary<I, O>(method: MethodDefinition<I, O>, request: I, options: CallOptions = {}): Promise<O> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.metadata(),
        options,
        (error, value) => (error ? reject(error) : resolve(value!)),
      );
    });
  }

  /** A client-streaming call: writes every message, half-closes, resolves with the response. */
  clientStream<I, O>(
    method: MethodDefinition<I, O>,
    messages: readonly I[],
    cancelBeforeEnd = false,
  ): Promise<O> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeClientStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        this.metadata(),
        {},
        (error, value) => (error ? reject(error) : resolve(value!)),
      );
      for (const message of messages) call.write(message);
      if (cancelBeforeEnd) call.cancel();
      else call.end();
    });
  }

  serverStream<I, O>(
    method: MethodDefinition<I, O>,
    request: I,
    options: CallOptions = {},
  ): ClientReadableStream<O> {
    return this.client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      this.metadata(),
      options,
    );
  }

  bidi<I, O>(method: MethodDefinition<I, O>): ClientDuplexStream<I, O> {
    return this.client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      this.metadata(),
      {},
    );
  }

  close(): void {
    this.client.close();
  }
}

/** Collects a server stream until it ends; rejects with its error. */
export function collect<O>(stream: ClientReadableStream<O>): Promise<O[]> {
  return new Promise((resolve, reject) => {
    const out: O[] = [];
    stream.on("data", (message: O) => out.push(message));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });
}

/** Reads the messages of a stream into an inbox that tests can wait on. */
export class Inbox<O> {
  readonly messages: O[] = [];
  error: ServiceError | undefined;
  ended = false;
  #waiters: (() => void)[] = [];

  constructor(stream: ClientReadableStream<O> | ClientDuplexStream<unknown, O>) {
    stream.on("data", (message: O) => {
      this.messages.push(message);
      this.#wake();
    });
    stream.on("error", (error: ServiceError) => {
      this.error = error;
      this.#wake();
    });
    stream.on("end", () => {
      this.ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits until `predicate` holds for some message; returns it. */
  async next(predicate: (message: O) => boolean, timeoutMs = 10_000): Promise<O> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (this.error) throw this.error;
      if (this.ended) throw new Error("The stream ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for a message`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the stream failed or ended. */
  async done(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for the stream to end`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** The `AxonIQ-ErrorCode` trailer of a failed call. */
export function errorCode(error: unknown): string | undefined {
  const metadata = (error as ServiceError).metadata;
  const [value] = metadata?.get("axoniq-errorcode") ?? [];
  return value === undefined ? undefined : String(value);
}

/** Starts soma on free ports in a temp dir; `dispose` closes it and removes the dir. */
export async function testSoma(
  options: Partial<SomaOptions> = {},
): Promise<{ soma: Soma; dir: string; dispose: () => Promise<void> }> {
  const dir = options.dataDir ?? await Deno.makeTempDir({ prefix: "soma-test-" });
  const soma = await startSoma({ dataDir: dir, port: 0, httpPort: 0, heartbeatIntervalMs: 0, ...options });
  return {
    soma,
    dir,
    dispose: async () => {
      await soma.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** soma running as a child process (`src/soma/main.ts`) on ephemeral ports. */
export interface SomaChild {
  readonly process: Deno.ChildProcess;
  readonly port: number;
  readonly httpPort: number;
  /** The access token soma keeps in `<dir>/secure/soma-token`. */
  readonly token: string;
}

/** Starts soma as a child process on data directory `dir`; resolves once it listens. */
export async function spawnSoma(dir: string, env: Record<string, string> = {}): Promise<SomaChild> {
  const { child, line } = await spawnReady(new URL("../../src/soma/main.ts", import.meta.url), {
    env: { DATA_DIR: dir, AXON_PORT: "0", AXON_HTTP_PORT: "0", AXON_HOST: "127.0.0.1", ...env },
  });
  const { port, httpPort } = JSON.parse(line) as { port: number; httpPort: number };
  const token = env.AXON_TOKEN ?? await readSomaToken(dir);
  if (token === undefined) throw new Error(`soma listens but wrote no token into ${dir}`);
  return { process: child, port, httpPort, token };
}

/** The `flowControl` request of a raw handler stream granting `permits`. */
export function flowControl(clientId: string, permits: number) {
  return {
    case: "flowControl" as const,
    value: create(FlowControlSchema, { clientId, permits: BigInt(permits) }),
  };
}

/** Matches soma's ack of instruction `id` on a raw handler stream. */
export function ackOf(id: string) {
  return (message: { readonly request: { readonly case?: string; readonly value?: unknown } }) =>
    message.request.case === "ack" && (message.request.value as InstructionAck).instructionId === id;
}
