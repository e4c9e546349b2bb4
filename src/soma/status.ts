/**
 * What soma knows about its clients, handlers and event processors, shaped for the status surface: processor
 * reports from gRPC clients (EventProcessorInfo) merged with the processors registered in-process.
 *
 * @module
 */
import type { DeadLetterSummary, ProcessorStatus } from "../dendrite/mod.ts";
import type { CommandHandlerStatus } from "./commands.ts";
import type { ClientInfo, InstructionOutcome, ProcessorAction, ProcessorReport } from "./platform.ts";
import type { QueryHandlerStatus } from "./query_types.ts";

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

/** A client on the status surface: a gRPC client, or the components running in soma's own process. */
export type ClientView = ClientInfo & { readonly local: boolean };

/** gRPC clients, preceded by this process' own components when they are active (in-process handlers, processors). */
export function clientViews(
  remote: readonly ClientInfo[],
  local: {
    readonly clientId: string;
    readonly component: string;
    readonly version: string;
    readonly startedAt: number;
    readonly active: boolean;
  },
): ClientView[] {
  const clients: ClientView[] = remote.map((client) => ({ ...client, local: false }));
  if (!local.active) return clients;
  const self: ClientView = {
    streamId: "in-process",
    clientId: local.clientId,
    component: local.component,
    version: local.version,
    tags: {},
    connectedAt: local.startedAt,
    lastSeen: Date.now(),
    heartbeats: false,
    local: true,
  };
  return [self, ...clients];
}

/** soma's status document (`GET /v1/status`). */
export interface SomaStatus {
  readonly node: { readonly name: string; readonly grpcPort: number; readonly httpPort: number };
  readonly versions: { readonly soma: string; readonly axonApi: string; readonly deno: string };
  readonly clients: readonly ClientView[];
  readonly commandHandlers: readonly CommandHandlerStatus[];
  readonly queryHandlers: readonly QueryHandlerStatus[];
  readonly subscriptionQueries: number;
  readonly events: { readonly firstToken: number; readonly lastToken: number };
  /** Tables contributed by components running in soma's process (see {@link StatusSectionProvider}). */
  readonly sections: readonly StatusSection[];
}

/** A cell of a {@link StatusSection}: shown as text. */
export type StatusCell = string | number | boolean;

/**
 * A table another component of soma's process shows on the status page (e.g. the security events a security
 * model ignored): soma knows nothing of its content. `count` is the total when `rows` lists only some.
 */
export interface StatusSection {
  readonly id: string;
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly StatusCell[])[];
  readonly count?: number;
}

/** Supplies one {@link StatusSection} each time the status is read. */
export type StatusSectionProvider = () => StatusSection | Promise<StatusSection>;

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
  /** False for a segment remembered from an earlier report while its instance is paused (no claim now). */
  readonly claimed: boolean;
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
  /** The dead letters of an in-process processor (see dead_letters.ts). */
  readonly deadLetters?: DeadLetterSummary;
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

/**
 * The segments each processor instance last reported, so a paused instance (which releases its claims and reports
 * none) still shows one row per segment with its token and lag.
 */
export class SegmentMemory {
  readonly #segments = new Map<string, readonly SegmentView[]>();

  /** The key of one processor instance. */
  static key(name: string, clientId: string): string {
    return JSON.stringify([name, clientId]);
  }

  /** The view with its remembered segments when it reports none while paused; remembers them otherwise. */
  apply(name: string, view: ProcessorInstanceView, lastToken: number): ProcessorInstanceView {
    const key = SegmentMemory.key(name, view.clientId);
    if (view.segments.length > 0) {
      this.#segments.set(key, view.segments);
      return view;
    }
    const remembered = this.#segments.get(key);
    if (view.running || !remembered) return view;
    return {
      ...view,
      segments: remembered.map((s) => ({
        ...s,
        lag: Math.max(0, lastToken - s.tokenPosition),
        caughtUp: s.tokenPosition >= lastToken,
        claimed: false,
      })),
    };
  }

  /** Forgets instances that are gone (keys as built by {@link SegmentMemory.key}). */
  retain(keep: ReadonlySet<string>): void {
    for (const key of [...this.#segments.keys()]) if (!keep.has(key)) this.#segments.delete(key);
  }
}

/** Builds the processor views from remote reports and local processors. */
export function processorViews(
  reports: readonly ProcessorReport[],
  local: readonly LocalProcessor[],
  lastToken: number,
  identity: { clientId: string; component: string },
  memory: SegmentMemory = new SegmentMemory(),
): ProcessorView[] {
  const byName = new Map<string, ProcessorInstanceView[]>();
  const seen = new Set<string>();
  const add = (name: string, reported: ProcessorInstanceView) => {
    const view = memory.apply(name, reported, lastToken);
    seen.add(SegmentMemory.key(name, view.clientId));
    const list = byName.get(name) ?? [];
    list.push(view);
    byName.set(name, list);
  };
  for (const report of reports) add(report.info.processorName, remoteInstance(report, lastToken));
  for (const processor of local) add(processor.name, localInstance(processor, identity, lastToken));
  memory.retain(seen);
  return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, instances]) => ({ name, instances }));
}

/** An instance as a gRPC client reported it (EventProcessorInfo). */
function remoteInstance(report: ProcessorReport, lastToken: number): ProcessorInstanceView {
  const info = report.info;
  return {
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
      lag: Math.max(0, lastToken - Number(s.tokenPosition)),
      caughtUp: s.caughtUp,
      replaying: s.replaying,
      error: s.errorState,
      claimed: true,
    })),
  };
}

/** An in-process processor's instance, from its status now. */
function localInstance(
  processor: LocalProcessor,
  identity: { clientId: string; component: string },
  lastToken: number,
): ProcessorInstanceView {
  const status = processor.status();
  return {
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
      lag: Math.max(0, lastToken - s.position),
      caughtUp: s.position >= lastToken,
      replaying: s.replaying,
      error: s.error ?? "",
      claimed: true,
    })),
  };
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
