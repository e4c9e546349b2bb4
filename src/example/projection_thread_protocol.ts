/**
 * The messages between the main thread and the projection thread's worker (`projection_thread.ts`,
 * `projection_worker.ts`): start and stop, the worker's log records, its processors' statuses, and the calls the
 * dashboard makes on those processors (actions, dead letters). Plain data: they cross by `postMessage`.
 *
 * @module
 */
import type { LogLevel } from "../config.ts";
import type { DeadLetterSummary, ProcessorStatus, SequenceOutcome } from "../dendrite/mod.ts";
import type { Synchronous } from "../dendrite/sqlite/mod.ts";
import type { LogFields } from "../server/log.ts";
import type { ProgramConfig } from "./program_config.ts";

/** The configuration a projection thread runs with. */
export type ProjectionThreadConfig =
  & Omit<ProgramConfig, "roles" | "elasticsearchUrl" | "axonServer">
  & { readonly axonServer: string; readonly elasticsearchUrl?: string };

/** A call on one of the worker's processors, and what each returns. */
export interface ProcessorCalls {
  start: { args: []; result: void };
  stop: { args: []; result: void };
  split: { args: [segment: number]; result: boolean };
  merge: { args: [segment: number]; result: boolean };
  release: { args: [segment: number]; result: boolean };
  deadLetterSummary: { args: [limit?: number]; result: DeadLetterSummary };
  retrySequence: { args: [sequenceId: string]; result: SequenceOutcome };
  evictSequence: { args: [sequenceId: string]; result: SequenceOutcome };
}

/** The name of a {@link ProcessorCalls} method. */
export type ProcessorMethod = keyof ProcessorCalls;

/** Sent to the worker. */
export type ToProjectionThread =
  | {
    readonly type: "start";
    readonly config: ProjectionThreadConfig;
    readonly head: SharedArrayBuffer;
    readonly synchronous?: Synchronous;
    readonly logLevel: LogLevel;
    /** The worker opens its query handler streams on `MessagePort`s it posts (`query-stream`), not over gRPC. */
    readonly portStreams: boolean;
  }
  | { readonly type: "stop" }
  | {
    readonly type: "call";
    readonly id: number;
    readonly processor: string;
    readonly method: ProcessorMethod;
    readonly args: ProcessorCalls[ProcessorMethod]["args"];
  };

/** A processor of the worker as last reported. */
export interface ReportedProcessor {
  readonly status: ProcessorStatus;
  /** Dead letters waiting in its queue. */
  readonly deadLetters?: number;
}

/** Sent by the worker. */
export type FromProjectionThread =
  | { readonly type: "started" }
  | { readonly type: "failed"; readonly message: string; readonly stack?: string }
  | { readonly type: "stopped" }
  /** A query handler stream for soma to serve (`Soma.serveQueryHandler`); the port is transferred. */
  | { readonly type: "query-stream"; readonly port: MessagePort }
  | { readonly type: "processors"; readonly processors: readonly ReportedProcessor[] }
  | { readonly type: "log"; readonly level: LogLevel; readonly msg: string; readonly fields?: LogFields }
  | { readonly type: "result"; readonly id: number; readonly value: unknown }
  | { readonly type: "error"; readonly id: number; readonly message: string };
