/**
 * What soma knows about its clients, handlers and event processors, shaped for the status surface: processor
 * reports from gRPC clients (EventProcessorInfo) merged with the processors registered in-process.
 *
 * @module
 */
import type { ProcessorStatus } from "../dendrite/mod.ts";
import type { CommandHandlerStatus } from "./commands.ts";
import type { ClientInfo, InstructionOutcome, ProcessorAction, ProcessorReport } from "./platform.ts";
import type { QueryHandlerStatus } from "./queries.ts";

/** An event processor running in soma's own process (e.g. dendrite's `TrackingProcessor`). */
export interface LocalProcessor {
  readonly name: string;
  status(): ProcessorStatus;
  /** Resumes processing (`start` action). */
  start?(): Promise<void>;
  /** Stops processing (`pause` action). */
  stop?(): Promise<void>;
  split?(segment: number): Promise<boolean>;
  merge?(segment: number): Promise<boolean>;
  release?(segment: number): Promise<boolean>;
}

/** soma's status document (`GET /v1/status`). */
export interface SomaStatus {
  readonly node: { readonly name: string; readonly grpcPort: number; readonly httpPort: number };
  readonly versions: { readonly soma: string; readonly axonApi: string; readonly deno: string };
  readonly clients: readonly ClientInfo[];
  readonly commandHandlers: readonly CommandHandlerStatus[];
  readonly queryHandlers: readonly QueryHandlerStatus[];
  readonly subscriptionQueries: number;
  readonly events: { readonly firstToken: number; readonly lastToken: number };
}

/** One segment of one processor instance. */
export interface SegmentView {
  readonly segment: number;
  readonly onePartOf: number;
  /** Token of the last processed event (-1 before the first). */
  readonly tokenPosition: number;
  /** Events between the segment's position and the store's last token. */
  readonly lag: number;
  readonly caughtUp: boolean;
  readonly replaying: boolean;
  readonly error: string;
}

/** One processor instance (a client, or this process). */
export interface ProcessorInstanceView {
  readonly clientId: string;
  readonly component: string;
  readonly local: boolean;
  readonly mode: string;
  readonly running: boolean;
  readonly error: boolean;
  readonly activeThreads: number;
  readonly availableThreads: number;
  readonly reportedAt: number;
  readonly segments: readonly SegmentView[];
}

/** One processor across its instances (`GET /v1/processors`). */
export interface ProcessorView {
  readonly name: string;
  readonly instances: readonly ProcessorInstanceView[];
}

/** The outcome of a processor action from the status surface. */
export interface ActionOutcome {
  readonly processor: string;
  readonly action: ProcessorAction;
  readonly segment: number;
  /** Instructions sent to gRPC clients, with their acks and results. */
  readonly remote: readonly InstructionOutcome[];
  /** The in-process processor's answer, when one is registered under that name. */
  readonly local?: { readonly success: boolean; readonly error?: string };
  readonly success: boolean;
}

/** Builds the processor views from remote reports and local processors. */
export function processorViews(
  reports: readonly ProcessorReport[],
  local: readonly LocalProcessor[],
  lastToken: number,
  identity: { clientId: string; component: string },
): ProcessorView[] {
  const byName = new Map<string, ProcessorInstanceView[]>();
  const add = (name: string, view: ProcessorInstanceView) => {
    const list = byName.get(name) ?? [];
    list.push(view);
    byName.set(name, list);
  };
  const lag = (position: number) => Math.max(0, lastToken - position);
  for (const report of reports) {
    const info = report.info;
    add(info.processorName, {
      clientId: report.clientId,
      component: report.component,
      local: false,
      mode: info.mode,
      running: info.running,
      error: info.error,
      activeThreads: info.activeThreads,
      availableThreads: info.availableThreads,
      reportedAt: report.receivedAt,
      segments: info.segmentStatus.map((s) => ({
        segment: s.segmentId,
        onePartOf: s.onePartOf,
        tokenPosition: Number(s.tokenPosition),
        lag: lag(Number(s.tokenPosition)),
        caughtUp: s.caughtUp,
        replaying: s.replaying,
        error: s.errorState,
      })),
    });
  }
  for (const processor of local) {
    const status = processor.status();
    add(processor.name, {
      clientId: identity.clientId,
      component: identity.component,
      local: true,
      mode: "Tracking",
      running: status.running,
      error: status.segments.some((s) => s.error !== undefined),
      activeThreads: status.segments.length,
      availableThreads: 0,
      reportedAt: Date.now(),
      segments: status.segments.map((s) => ({
        segment: s.segment,
        onePartOf: s.mask + 1,
        tokenPosition: s.position,
        lag: lag(s.position),
        caughtUp: s.position >= lastToken,
        replaying: s.replaying,
        error: s.error ?? "",
      })),
    });
  }
  return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, instances]) => ({ name, instances }));
}

/** Runs an action on an in-process processor; undefined when it does not support it. */
export async function runLocalAction(
  processor: LocalProcessor,
  action: ProcessorAction,
  segment: number,
): Promise<{ success: boolean; error?: string } | undefined> {
  const run = async (): Promise<boolean | undefined> => {
    switch (action) {
      case "pause":
        return processor.stop ? (await processor.stop(), true) : undefined;
      case "start":
        return processor.start ? (await processor.start(), true) : undefined;
      case "split":
        return processor.split ? await processor.split(segment) : undefined;
      case "merge":
        return processor.merge ? await processor.merge(segment) : undefined;
      case "release":
        return processor.release ? await processor.release(segment) : undefined;
    }
  };
  try {
    const result = await run();
    if (result === undefined) return { success: false, error: `The processor does not support "${action}"` };
    return { success: result };
  } catch (error) {
    return { success: false, error: error instanceof Error ? error.message : String(error) };
  }
}
