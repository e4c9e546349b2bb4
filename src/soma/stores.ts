/**
 * What soma keeps on disk: the event store (`events.sqlite`, unless one is handed in), the DCB events and
 * snapshots (`dcb.sqlite`, their own sequence: docs/soma.md, "DCB"), and the schedulers of both
 * (`scheduler.sqlite`, `dcb_scheduler.sqlite`). Without a data folder the DCB parts and the schedulers live in
 * memory.
 *
 * @module
 */
import { join } from "node:path";
import type { EventStore } from "../dendrite/mod.ts";
import {
  type DurableHead,
  SqliteDcbEventStore,
  SqliteEventStore,
  type Synchronous,
} from "../dendrite/sqlite/mod.ts";
import { dcbPublisher } from "./dcb_scheduler.ts";
import { DcbSnapshots } from "./dcb_snapshots.ts";
import { Scheduler } from "./scheduler.ts";

/** Where and how soma's stores are opened. */
export interface SomaStoreOptions {
  readonly dataDir?: string;
  /** Used instead of `<dataDir>/events.sqlite` (soma does not close it). */
  readonly eventStore?: EventStore;
  readonly schedulerPath?: string;
  readonly synchronous?: Synchronous;
  readonly idempotencyWindowMs?: number;
  /** Where `events.sqlite`'s durable head is published for readers in other threads (see `DurableHead`). */
  readonly durableHead?: DurableHead;
}

/** soma's open stores; `close()` closes what soma opened. */
export interface SomaStores {
  readonly events: EventStore;
  readonly dcbEvents: SqliteDcbEventStore;
  readonly dcbSnapshots: DcbSnapshots;
  readonly scheduler: Scheduler;
  readonly dcbScheduler: Scheduler;
  close(): Promise<void>;
}

/** Opens the stores (creating the data folder); `onError` hears of scheduled events that fail to publish. */
export async function openSomaStores(
  options: SomaStoreOptions,
  onError: (error: unknown, where: string) => void,
): Promise<SomaStores> {
  const { dataDir, synchronous } = options;
  if (dataDir) await Deno.mkdir(dataDir, { recursive: true });
  const inData = (file: string) => dataDir ? join(dataDir, file) : ":memory:";
  const own = options.eventStore ? undefined : new SqliteEventStore({
    path: join(dataDir!, "events.sqlite"),
    synchronous,
    idempotencyWindowMs: options.idempotencyWindowMs,
    publishHead: options.durableHead,
  });
  const events: EventStore = options.eventStore ?? own!;
  const dcbEvents = new SqliteDcbEventStore({ path: inData("dcb.sqlite"), synchronous });
  const dcbSnapshots = new DcbSnapshots({ path: inData("dcb.sqlite"), synchronous });
  const dcbScheduler = new Scheduler({
    path: inData("dcb_scheduler.sqlite"),
    synchronous,
    eventStore: dcbPublisher(dcbEvents),
    onError: (error, token) => onError(error, `publishing scheduled DCB event ${token}`),
  });
  const scheduler = new Scheduler({
    path: options.schedulerPath ?? inData("scheduler.sqlite"),
    synchronous,
    eventStore: events,
    onError: (error, token) => onError(error, `publishing scheduled event ${token}`),
  });
  return {
    events,
    dcbEvents,
    dcbSnapshots,
    scheduler,
    dcbScheduler,
    async close() {
      await scheduler.close();
      await dcbScheduler.close();
      own?.close();
      dcbEvents.close();
      dcbSnapshots.close();
    },
  };
}
