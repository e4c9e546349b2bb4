/**
 * Durable scheduled events (Axon's EventScheduler): each scheduled event is a row in a SQLite table until it is
 * due, then it is appended to the event store and the row removed. Rows survive a restart; events that fell due
 * while soma was down are published right after start.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { EventStore } from "../dendrite/mod.ts";
import { type OpenOptions, Sqlite } from "../dendrite/sqlite/mod.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import { InstructionAckSchema } from "../gen/axon/common_pb.ts";
import { type Event, type EventScheduler, EventSchema, ScheduleTokenSchema } from "../gen/axon/event_pb.ts";
import { fromAxonEvent } from "../dendrite/axon/protocol/messages.ts";
import { axonError, SomaErrorCode } from "./grpc_errors.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS scheduled_events (
  token TEXT PRIMARY KEY,
  instant INTEGER NOT NULL,
  event BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS scheduled_events_instant ON scheduled_events (instant);
`;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@link Scheduler}. */
export interface SchedulerOptions extends OpenOptions {
  /** The SQLite file holding scheduled events (`:memory:` for a non-durable one). */
  readonly path: string;
  /** Where scheduled events are published. */
  readonly eventStore: Pick<EventStore, "append">;
  /** Called when publishing a due event fails (the event is then dropped). */
  readonly onError?: (error: unknown, token: string) => void;
}

/**
 * The scheduler.
 *
 * @example
 * ```ts ignore
 * const scheduler = new Scheduler({ path: "data/scheduler.sqlite", eventStore });
 * const token = scheduler.schedule(Date.now() + 60_000, event);
 * scheduler.cancel(token);
 * scheduler.close();
 * ```
 */
export class Scheduler {
  readonly #sql: Sqlite;
  readonly #options: SchedulerOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;
  #publishing: Promise<void> | undefined;
  #closed = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#sql = new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
    this.#arm();
  }

  /** Schedules `event` for `instant` (epoch ms); returns its token. */
  schedule(instant: number, event: Event): string {
    const token = crypto.randomUUID();
    this.#sql.run(
      "INSERT INTO scheduled_events (token, instant, event) VALUES (?, ?, ?)",
      token,
      instant,
      toBinary(EventSchema, event),
    );
    this.#arm();
    return token;
  }

  /** Cancels a scheduled event; false when it was not (or no longer) scheduled. */
  cancel(token: string): boolean {
    return Number(this.#sql.run("DELETE FROM scheduled_events WHERE token = ?", token).changes) > 0;
  }

  /** Number of events waiting. */
  pending(): number {
    return this.#sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM scheduled_events")!.n;
  }

  /** Waits for a publication in progress. */
  async idle(): Promise<void> {
    while (this.#publishing) await this.#publishing;
  }

  /** Stops the timer and closes the table (waits for a publication in progress). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.idle();
    this.#sql.close();
  }

  #arm(): void {
    if (this.#closed) return;
    const next = this.#sql.get<{ instant: number | null }>(
      "SELECT MIN(instant) AS instant FROM scheduled_events",
    )
      ?.instant;
    if (next === null || next === undefined) return;
    if (this.#timer !== undefined && this.#armedFor <= next) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = next;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#armedFor = Infinity;
      if (!this.#publishing) this.#publishing = this.#publish().finally(() => (this.#publishing = undefined));
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())));
  }

  async #publish(): Promise<void> {
    while (!this.#closed) {
      const due = this.#sql.all<{ token: string; event: Uint8Array }>(
        "SELECT token, event FROM scheduled_events WHERE instant <= ? ORDER BY instant LIMIT 100",
        Date.now(),
      );
      if (due.length === 0) break;
      for (const row of due) {
        try {
          await this.#options.eventStore.append([fromAxonEvent(fromBinary(EventSchema, row.event))]);
        } catch (error) {
          if (this.#closed) return;
          this.#options.onError?.(error, row.token);
        }
        if (this.#closed) return;
        this.cancel(row.token);
      }
    }
    this.#arm();
  }
}

/** The gRPC implementation of EventScheduler over a {@link Scheduler}. */
export function schedulerService(
  scheduler: Scheduler,
): GrpcServiceImplementation<typeof EventScheduler.method> {
  const missingEvent = () =>
    axonError(SomaErrorCode.SCHEDULED_EVENT_NOT_FOUND, "The request carries no event to schedule");
  return {
    scheduleEvent: (call, callback) => {
      if (!call.request.event) return callback(missingEvent());
      const token = scheduler.schedule(Number(call.request.instant), call.request.event);
      callback(null, create(ScheduleTokenSchema, { token }));
    },
    rescheduleEvent: (call, callback) => {
      if (!call.request.event) return callback(missingEvent());
      if (call.request.token !== "") scheduler.cancel(call.request.token);
      const token = scheduler.schedule(Number(call.request.instant), call.request.event);
      callback(null, create(ScheduleTokenSchema, { token }));
    },
    cancelScheduledEvent: (call, callback) => {
      scheduler.cancel(call.request.token);
      callback(null, create(InstructionAckSchema, { instructionId: call.request.token, success: true }));
    },
  };
}
