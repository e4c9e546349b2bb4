/**
 * The projection role on a thread of its own, beside the embedded soma: a `Worker` that runs the role as a
 * process joined to soma would (its processors listed on soma's dashboard and steered from there, its query
 * handlers answering through soma, its stores the same files), except that it reads the events straight from
 * `events.sqlite`, never past the durable head soma publishes in shared memory ({@link DurableHead}). The main
 * thread then spends nothing on the projection: no event is encoded for it, no unit of work is committed on it.
 *
 * The worker's log records come back to the program's logger, and its processors' statuses to this process's
 * metrics (`/metrics`, at most a second old). A worker that fails after its start is logged and started again,
 * after a back-off; the main thread keeps serving meanwhile.
 *
 * @module
 */
import { LOG_LEVELS } from "../config/types.ts";
import type { DurableHead, Synchronous } from "../dendrite/sqlite/mod.ts";
import type { Logger } from "../server/log.ts";
import type {
  FromProjectionThread,
  ProcessorCalls,
  ProcessorMethod,
  ProjectionThreadConfig,
  ReportedProcessor,
  ToProjectionThread,
} from "./projection_thread_protocol.ts";
import { RelayedProcessors, type RelayHosts } from "./relayed_processors.ts";

export type { ProjectionThreadConfig } from "./projection_thread_protocol.ts";

/** What {@link startProjectionThread} needs besides the configuration. */
export interface ProjectionThreadOptions {
  /** soma's durable head, which the worker reads up to. */
  readonly head: DurableHead;
  readonly logger: Logger;
  readonly synchronous?: Synchronous;
  /** Where the worker's processors are listed (soma's dashboard) and measured (this process's metrics). */
  readonly hosts?: RelayHosts;
  /**
   * soma's `serveQueryHandler`: the worker's query handler streams then reach soma over `MessagePort`s instead
   * of loopback gRPC, whose HTTP/2 connection froze inside the worker under CPU starvation (docs/query-side.md).
   */
  readonly serveQueryHandler?: (port: MessagePort, onEnd: () => void) => () => void;
  /** The worker's module (default `projection_worker.ts`; tests put their own). */
  readonly workerModule?: URL;
  /** How long `stop()` waits for the worker's role to stop before it ends the worker (default 10,000 ms). */
  readonly stopDeadlineMs?: number;
  /**
   * First wait before a failed worker is started again; doubles up to 30 s with each failure in a row (default
   * 1,000 ms; a worker that ran for a minute starts the count over).
   */
  readonly restartDelayMs?: number;
}

/** A running projection thread. */
export interface ProjectionThread {
  /** Worker starts so far (1 until a failure restarted it). */
  readonly starts: number;
  /** Whether a worker runs now (false while one is being started again, and once stopped). */
  readonly running: boolean;
  /** Stops the role in the worker (its processors release their claims), then ends the worker. */
  stop(): Promise<void>;
}

/** Raised when the projection thread could not start; carries the worker's message and stack. */
export class ProjectionThreadError extends Error {
  /** The worker's stack of the error, when it had one. */
  readonly workerStack?: string;

  constructor(message: string, workerStack?: string) {
    super(`The projection thread could not start: ${message}`);
    this.name = "ProjectionThreadError";
    this.workerStack = workerStack;
  }
}

const MAX_RESTART_DELAY_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;
/** A worker that ran this long before it failed is restarted after the first back-off again. */
const STABLE_MS = 60_000;
const WORKER_MODULE = new URL("./projection_worker.ts", import.meta.url);

/**
 * Starts the projection role in a worker; resolves once its processors run and its query handlers are
 * registered with soma at `config.axonServer`. Rejects with a {@link ProjectionThreadError} when that fails.
 *
 * @example
 * ```ts ignore
 * const head = new DurableHead(); // handed to soma as `durableHead`
 * const thread = await startProjectionThread({ ...config, axonServer: `127.0.0.1:${soma.port}` }, { head, logger });
 * // … later
 * await thread.stop();
 * ```
 */
export async function startProjectionThread(
  config: ProjectionThreadConfig,
  options: ProjectionThreadOptions,
): Promise<ProjectionThread> {
  const supervisor = new Supervisor(config, options);
  await supervisor.start();
  return supervisor;
}

/** One worker at a time: started, watched, started again after a failure, stopped. */
class Supervisor implements ProjectionThread {
  readonly #config: ProjectionThreadConfig;
  readonly #options: ProjectionThreadOptions;
  readonly #processors: RelayedProcessors;
  /** Ends of the query handler streams soma serves the running worker. */
  readonly #streamEnds = new Set<{ end: () => void }>();
  #worker: Worker | undefined;
  #replies: Replies | undefined;
  #stopping: Promise<void> | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #delayMs: number;
  /** When the running worker answered its start. */
  #startedAt = 0;
  starts = 0;

  get running(): boolean {
    return this.#worker !== undefined && this.#stopping === undefined;
  }

  constructor(config: ProjectionThreadConfig, options: ProjectionThreadOptions) {
    this.#config = config;
    this.#options = options;
    this.#delayMs = options.restartDelayMs ?? 1_000;
    this.#processors = new RelayedProcessors(
      options.hosts ?? {},
      (processor, method, args) => this.#call(processor, method, args),
    );
  }

  /** Starts a worker and waits for its answer. */
  async start(): Promise<void> {
    const { head, logger, synchronous } = this.#options;
    const worker = new Worker(this.#options.workerModule ?? WORKER_MODULE, { type: "module" });
    const replies = new Replies(worker, logger, {
      processors: (reported) => this.#processors.update(reported),
      failure: () => this.#onFailure(worker),
      queryStream: (port) => this.#serveQueryStream(worker, port),
    });
    this.#worker = worker;
    this.#replies = replies;
    this.starts++;
    const logLevel = LOG_LEVELS.find((level) => logger.enabled(level)) ?? "error";
    const start: ToProjectionThread = {
      type: "start",
      config: this.#config,
      head: head.buffer,
      synchronous,
      logLevel,
      portStreams: this.#options.serveQueryHandler !== undefined,
    };
    const reply = await replies.request(worker, start);
    if (reply.type === "started") {
      this.#startedAt = Date.now();
      return;
    }
    this.#end(worker);
    this.#worker = undefined;
    throw reply.type === "failed"
      ? new ProjectionThreadError(reply.message, reply.stack)
      : new ProjectionThreadError(`unexpected answer "${reply.type}"`);
  }

  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      clearTimeout(this.#restartTimer);
      const worker = this.#worker;
      this.#worker = undefined;
      try {
        if (worker) await this.#stopWorker(worker);
      } finally {
        if (worker) this.#end(worker);
        this.#replies?.abandon("the projection thread stopped");
        this.#processors.update([]);
      }
    })();
  }

  /** Asks the worker to stop its role; gives up after the deadline (the worker is ended either way). */
  async #stopWorker(worker: Worker): Promise<void> {
    const deadlineMs = this.#options.stopDeadlineMs ?? STOP_DEADLINE_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, deadlineMs, "late"));
    try {
      const answer = await Promise.race([this.#replies!.request(worker, { type: "stop" }), late]);
      if (answer === "late") {
        this.#options.logger.warn("projection thread did not stop in time", { deadlineMs });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Relays a call to a processor in the worker. */
  async #call<M extends ProcessorMethod>(
    processor: string,
    method: M,
    args: ProcessorCalls[M]["args"],
  ): Promise<ProcessorCalls[M]["result"]> {
    const worker = this.#worker;
    if (!worker || !this.#replies) throw new Error("The projection thread is not running");
    return await this.#replies.call(worker, processor, method, args) as ProcessorCalls[M]["result"];
  }

  /** The running worker failed: end it, and start another after the back-off (unless stopping). */
  #onFailure(worker: Worker): void {
    if (this.#worker !== worker || this.#stopping) return;
    this.#end(worker);
    this.#worker = undefined;
    this.#replies?.abandon("the projection thread failed");
    this.#processors.update([]);
    // A worker that ran for a while failed afresh: the back-off starts over.
    if (Date.now() - this.#startedAt >= STABLE_MS) this.#delayMs = this.#options.restartDelayMs ?? 1_000;
    this.#restartLater();
  }

  /** Hands a query handler stream of the running worker to soma; it ends with that worker. */
  #serveQueryStream(worker: Worker, port: MessagePort): void {
    const serve = this.#options.serveQueryHandler;
    if (!serve || this.#worker !== worker) return port.close();
    // Kept until the stream is over (a reconnect of the worker's connector ends its previous one).
    const stream = { end: () => {} };
    this.#streamEnds.add(stream);
    stream.end = serve(port, () => this.#streamEnds.delete(stream));
  }

  /** Ends a worker, and with it the streams soma serves it (as if it had disconnected). */
  #end(worker: Worker): void {
    worker.terminate();
    for (const stream of [...this.#streamEnds]) stream.end();
    this.#streamEnds.clear();
  }

  #restartLater(): void {
    const delayMs = this.#delayMs;
    this.#delayMs = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
    this.#options.logger.warn("projection thread restarting", { inMs: delayMs });
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.start().catch((error) => {
        this.#options.logger.error("projection thread could not restart", { error: String(error) });
        if (!this.#stopping) this.#restartLater();
      });
    }, delayMs);
  }
}

/** A pending answer of the worker. */
interface Pending {
  resolve(reply: FromProjectionThread): void;
  reject(error: Error): void;
}

/**
 * One worker's messages: answers to start and stop (in order), call results (by id); log records go to the
 * logger, reports and a failure to the callbacks.
 */
class Replies {
  readonly #lifecycle: Pending[] = [];
  readonly #calls = new Map<number, Pending>();
  #nextId = 0;

  constructor(
    worker: Worker,
    logger: Logger,
    on: {
      processors(reported: readonly ReportedProcessor[]): void;
      failure(): void;
      queryStream(port: MessagePort): void;
    },
  ) {
    worker.onmessage = (event: MessageEvent<FromProjectionThread>) => {
      const reply = event.data;
      switch (reply.type) {
        case "log":
          return logger[reply.level](reply.msg, { thread: "projection", ...reply.fields });
        case "processors":
          return on.processors(reply.processors);
        case "query-stream":
          return on.queryStream(reply.port);
        case "result":
        case "error":
          this.#calls.get(reply.id)?.resolve(reply);
          return void this.#calls.delete(reply.id);
        default:
          return this.#lifecycle.shift()?.resolve(reply);
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      logger.error("projection thread failure", { error: event.message });
      const waiting = this.#lifecycle.shift();
      if (waiting) waiting.resolve({ type: "failed", message: event.message });
      else on.failure();
    };
  }

  /** Sends start or stop and waits for the answer. */
  request(worker: Worker, message: ToProjectionThread): Promise<FromProjectionThread> {
    const answer = new Promise<FromProjectionThread>((resolve, reject) =>
      this.#lifecycle.push({ resolve, reject })
    );
    worker.postMessage(message);
    return answer;
  }

  /** Calls a processor's method in the worker. */
  async call(
    worker: Worker,
    processor: string,
    method: ProcessorMethod,
    args: readonly unknown[],
  ): Promise<unknown> {
    const id = this.#nextId++;
    const answer = new Promise<FromProjectionThread>((resolve, reject) =>
      this.#calls.set(id, { resolve, reject })
    );
    worker.postMessage({ type: "call", id, processor, method, args } as ToProjectionThread);
    const reply = await answer;
    if (reply.type === "error") throw new Error(reply.message);
    return reply.type === "result" ? reply.value : undefined;
  }

  /** Fails every pending answer: the worker is gone. */
  abandon(reason: string): void {
    const error = new Error(reason);
    for (const pending of [...this.#lifecycle.splice(0), ...this.#calls.values()]) pending.reject(error);
    this.#calls.clear();
  }
}
