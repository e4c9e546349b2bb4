/**
 * The processors a connection manages, without a server: instructions in order per processor (and not held back
 * by another processor's), the errors the server is told, and the EventProcessorInfo built from a status.
 */
import type { ProcessorStatus, SegmentStatus } from "../processing/processor_options.ts";
import {
  type ManagedProcessor,
  ManagedProcessors,
  type ProcessorAction,
  processorInfo,
} from "./managed_processors.ts";
import { assert, assertEquals } from "../../../test/assert.ts";

function status(name: string, segments: readonly SegmentStatus[] = []): ProcessorStatus {
  return {
    name,
    owner: "node-1",
    mode: "Tracking",
    running: true,
    error: false,
    claimLimit: 2,
    members: 1,
    deadLettered: 0,
    errors: 0,
    segments,
  };
}

/** Runs one instruction and resolves with what it reported (undefined: success). */
function control(
  processors: ManagedProcessors,
  name: string,
  action: ProcessorAction,
  segment = 0,
): Promise<unknown> {
  const { promise, resolve } = Promise.withResolvers<unknown>();
  processors.control(name, action, segment, resolve);
  return promise;
}

Deno.test("managed processors: one processor's instructions run in order, another's do not wait for them", async () => {
  const calls: string[] = [];
  const gate = Promise.withResolvers<void>();
  const slow: ManagedProcessor = {
    name: "slow",
    status: () => status("slow"),
    merge: async (segment) => {
      calls.push(`slow merge ${segment} started`);
      await gate.promise;
      calls.push(`slow merge ${segment} done`);
    },
    pause: () => Promise.resolve(calls.push("slow pause")),
  };
  const other: ManagedProcessor = {
    name: "other",
    status: () => status("other"),
    pause: () => Promise.resolve(calls.push("other pause")),
  };
  const processors = new ManagedProcessors();
  processors.register(slow);
  processors.register(other);
  const merged = control(processors, "slow", "mergeEventProcessorSegment", 1);
  const paused = control(processors, "slow", "pauseEventProcessor");
  assertEquals(await control(processors, "other", "pauseEventProcessor"), undefined);
  assertEquals(calls, ["slow merge 1 started", "other pause"]);
  gate.resolve();
  assertEquals(await merged, undefined);
  assertEquals(await paused, undefined);
  assertEquals(calls, ["slow merge 1 started", "other pause", "slow merge 1 done", "slow pause"]);
});

Deno.test("managed processors: an unknown, refusing or unable processor reports an error naming it", async () => {
  const processors = new ManagedProcessors();
  const unregister = processors.register({
    name: "greetings",
    status: () => status("greetings"),
    split: () => Promise.resolve(false),
  });
  const message = (error: unknown) => error instanceof Error ? error.message : String(error);
  assertEquals(
    message(await control(processors, "greetings", "splitEventProcessorSegment", 3)),
    '"splitEventProcessorSegment" of "greetings" segment 3 was refused',
  );
  assertEquals(
    message(await control(processors, "greetings", "releaseSegment", 0)),
    'Processor "greetings" does not support releaseSegment',
  );
  unregister();
  assertEquals(processors.get("greetings"), undefined);
  assertEquals(
    message(await control(processors, "greetings", "startEventProcessor")),
    'Unknown processor "greetings"',
  );
});

Deno.test("managed processors: EventProcessorInfo reports segments, positions (never below 0) and errors", () => {
  const segment = (s: number, position: number, error?: string): SegmentStatus => ({
    segment: s,
    mask: 1,
    onePartOf: 2,
    position,
    caughtUp: position >= 0,
    replaying: false,
    ...(error === undefined ? {} : { error }),
  });
  const info = processorInfo({
    name: "greetings",
    status: () => status("greetings", [segment(0, 41), segment(1, -1, "handler failed")]),
  });
  assertEquals(info.processorName, "greetings");
  assertEquals([info.activeThreads, info.availableThreads, info.error], [2, 14, true]);
  assertEquals(
    info.segmentStatus.map((s) => [s.segmentId, s.onePartOf, s.tokenPosition, s.caughtUp, s.errorState]),
    [[0, 2, 41n, true, ""], [1, 2, 0n, false, "handler failed"]],
  );
  assert(processorInfo({ name: "idle", status: () => status("idle") }).error === false);
});
