/**
 * The projection thread's worker (started by `projection_thread.ts`, never imported): the program's projection
 * role joined to the embedded soma over loopback gRPC for its queries, reading the events from `events.sqlite`
 * up to the durable head soma publishes. Its processors are listed on the main thread (soma's dashboard, the
 * metrics) through reports and relayed calls (`projection_thread_protocol.ts`).
 *
 * @module
 */
import { join } from "node:path";
import type { TrackingProcessor } from "../dendrite/mod.ts";
import { DurableHead, SqliteEventStore } from "../dendrite/sqlite/mod.ts";
import { errorFields, levelledLogger } from "../server/log.ts";
import type {
  FromProjectionThread,
  ProcessorCalls,
  ProcessorMethod,
  ReportedProcessor,
  ToProjectionThread,
} from "./projection_thread_protocol.ts";
import { type Program, startProgram } from "./wiring.ts";

/** How often the processors' statuses go to the main thread. */
const REPORT_INTERVAL_MS = 500;

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<ToProjectionThread>) => void) | null;
  postMessage(message: FromProjectionThread, transfer?: Transferable[]): void;
};

/** A new `MessagePort` for a query handler stream; its other end goes to soma on the main thread. */
function queryHandlerPort(): MessagePort {
  const { port1, port2 } = new MessageChannel();
  scope.postMessage({ type: "query-stream", port: port2 }, [port2]);
  return port1;
}

let program: Program | undefined;
let events: SqliteEventStore | undefined;
let reporting: ReturnType<typeof setInterval> | undefined;
const processors = new Map<string, TrackingProcessor>();

/** Sends the processors' statuses and dead letter counts to the main thread. */
async function report(): Promise<void> {
  const reported: ReportedProcessor[] = await Promise.all(
    [...processors.values()].map(async (processor) => ({
      status: processor.status(),
      deadLetters: (await processor.deadLetterSummary(0)).count,
    })),
  );
  scope.postMessage({ type: "processors", processors: reported });
}

async function start(message: Extract<ToProjectionThread, { type: "start" }>): Promise<FromProjectionThread> {
  const { config, logLevel } = message;
  // Its records go to the main thread's logger.
  const logger = levelledLogger(
    logLevel,
    (level, msg, fields) => scope.postMessage({ type: "log", level, msg, fields }),
  );
  events = new SqliteEventStore({
    path: join(config.dataDir, "events.sqlite"),
    readUpTo: new DurableHead(message.head),
  });
  try {
    program = await startProgram(
      {
        ...config,
        roles: new Set(["projection"]),
        elasticsearchUrl: config.elasticsearchUrl ? new URL(config.elasticsearchUrl) : undefined,
      },
      logger,
      {
        synchronous: message.synchronous,
        projectionEvents: events,
        queryHandlerPort: message.portStreams ? queryHandlerPort : undefined,
        processorHost: {
          registerProcessor(processor) {
            processors.set(processor.name, processor);
            return () => processors.delete(processor.name);
          },
        },
      },
    );
    await report();
    reporting = setInterval(() => {
      report().catch((error) => logger.warn("projection thread: no processor report", errorFields(error)));
    }, REPORT_INTERVAL_MS);
    return { type: "started" };
  } catch (error) {
    events.close();
    const { error: text, stack } = errorFields(error);
    return { type: "failed", message: String(text), stack: stack === undefined ? undefined : String(stack) };
  }
}

async function stop(): Promise<FromProjectionThread> {
  clearInterval(reporting);
  await program?.stop();
  events?.close();
  return { type: "stopped" };
}

/** Runs a call of the main thread on a processor; reports the statuses again before answering. */
async function call(message: Extract<ToProjectionThread, { type: "call" }>): Promise<FromProjectionThread> {
  const processor = processors.get(message.processor);
  try {
    if (!processor) throw new Error(`No processor "${message.processor}" runs in the projection thread`);
    const value = await invoke(processor, message.method, message.args);
    await report();
    return { type: "result", id: message.id, value };
  } catch (error) {
    return { type: "error", id: message.id, message: error instanceof Error ? error.message : String(error) };
  }
}

function invoke(
  processor: TrackingProcessor,
  method: ProcessorMethod,
  args: ProcessorCalls[ProcessorMethod]["args"],
): Promise<unknown> {
  const [first] = args;
  switch (method) {
    case "start":
      return processor.start();
    case "stop":
      return processor.stop();
    case "split":
      return processor.split(Number(first));
    case "merge":
      return processor.merge(Number(first));
    case "release":
      return processor.release(Number(first));
    case "deadLetterSummary":
      return processor.deadLetterSummary(first === undefined ? undefined : Number(first));
    case "retrySequence":
      return processor.retrySequence(String(first));
    case "evictSequence":
      return processor.evictSequence(String(first));
  }
}

scope.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "call") return scope.postMessage(await call(message));
  scope.postMessage(message.type === "start" ? await start(message) : await stop());
};
