/**
 * The greeter's query side: a projection that keeps greetings (full-text searchable) and each greeter's status,
 * and the query handlers that read them. Both writes are idempotent, so replays and redeliveries are harmless.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type Collection,
  defineProjection,
  type DocumentStore,
  type EventMessage,
  type Projection,
  type ProjectionContext,
  type QueryBus,
  type Registration,
} from "../../dendrite/mod.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { type Greeting, GreetingSchema } from "../../gen/example/v1/greeter_pb.ts";

/** A greeting as stored in the query model. */
export type GreetingDocument = {
  readonly message: string;
  readonly greeterId: string;
  /** Epoch milliseconds. */
  readonly greetedAt: number;
};

/** A greeter's status as stored in the query model. */
export type GreeterDocument = {
  readonly recording: boolean;
  readonly greetingCount: number;
  /** The aggregate sequence of the last event applied (for idempotence). */
  readonly sequence: number;
};

/** The query model's collections. */
export interface GreeterModel {
  readonly greetings: Collection<GreetingDocument>;
  readonly greeters: Collection<GreeterDocument>;
  /** The store's unit of work, when it has one (a batch of events commits as one transaction). */
  readonly unitOfWork?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Opens the greeter's collections in a document store. */
export function greeterModel(store: DocumentStore): GreeterModel {
  return {
    greetings: store.collection<GreetingDocument>("greetings", { textFields: ["message"] }),
    greeters: store.collection<GreeterDocument>("greeters"),
    unitOfWork: store.unitOfWork?.bind(store),
  };
}

/** The processor name of the greeter projection. */
export const GREETER_PROJECTION = "example.greeter-projection";

/** The most greetings one answer carries. */
export const MAX_RESULTS = 1_000;

/** A greeter's status as the queries answer it (the default before any event: recording, no greetings). */
export function toStatus(document: GreeterDocument | undefined): domain.GreeterStatus {
  return create(domain.GreeterStatusSchema, {
    recording: document?.recording ?? true,
    greetingCount: BigInt(document?.greetingCount ?? 0),
    sequence: BigInt(document?.sequence ?? -1),
  });
}

function toGreeting(id: string, document: GreetingDocument): Greeting {
  return create(GreetingSchema, { id, message: document.message, greetedAt: BigInt(document.greetedAt) });
}

/**
 * The greeter projection: greetings by event id, greeter status by aggregate id. New greetings are also published
 * to `GreetingsQuery` subscribers (unless replaying), and each changed status to that greeter's
 * `GreeterStatusQuery` subscribers, after the write (so a subscriber that re-reads sees it).
 */
export function greeterProjection(model: GreeterModel, queryBus?: QueryBus): Projection {
  const writer = new GreeterWriter(model, queryBus);
  const unitOfWork = model.unitOfWork;
  return defineProjection({
    name: GREETER_PROJECTION,
    events: [
      domain.GreetedEventSchema,
      domain.RecordingStartedEventSchema,
      domain.RecordingStoppedEventSchema,
    ],
    handle: (event, context) => writer.handle(event, context),
    reset: () => writer.reset(),
    unitOfWork: unitOfWork && (<T>(work: () => Promise<T>) => writer.batched(unitOfWork, work)),
  });
}

type GreeterEvent = domain.GreetedEvent | domain.RecordingStartedEvent | domain.RecordingStoppedEvent;

/** What a batch of events changes, written once at its end. */
interface Batch {
  readonly greetings: { id: string; document: GreetingDocument }[];
  readonly statuses: Map<string, GreeterDocument>;
  readonly updates: Greeting[];
}

/** Writes the greeter's query model and publishes its live updates (one per projection). */
class GreeterWriter {
  readonly #model: GreeterModel;
  readonly #queryBus: QueryBus | undefined;
  /**
   * Inside a unit of work (a batch of events in one transaction): greetings and status changes are collected and
   * written once at the end of the batch, and live updates go out only after it committed.
   */
  #batch: Batch | undefined;

  constructor(model: GreeterModel, queryBus: QueryBus | undefined) {
    this.#model = model;
    this.#queryBus = queryBus;
  }

  async handle(event: EventMessage<GreeterEvent>, context: ProjectionContext): Promise<void> {
    const payload = event.payload;
    switch (payload.$typeName) {
      case "example.v1.GreetedEvent":
        return await this.#greeted(event, payload, context.replaying);
      case "example.v1.RecordingStartedEvent":
        return await this.#applyStatus(event, (s) => ({ ...s, recording: true }));
      case "example.v1.RecordingStoppedEvent":
        return await this.#applyStatus(event, (s) => ({ ...s, recording: false }));
    }
  }

  async reset(): Promise<void> {
    await this.#model.greetings.clear();
    await this.#model.greeters.clear();
  }

  /** Runs `work` (a batch of events) in the store's unit of work; its live updates go out after the commit. */
  async batched<T>(
    unitOfWork: <R>(work: () => Promise<R>) => Promise<R>,
    work: () => Promise<T>,
  ): Promise<T> {
    let done: Batch | undefined;
    const result = await unitOfWork(async () => {
      const batch: Batch = { greetings: [], statuses: new Map(), updates: [] };
      this.#batch = batch;
      try {
        const result = await work();
        await this.#model.greetings.putMany(batch.greetings);
        await this.#model.greeters.putMany([...batch.statuses].map(([id, document]) => ({ id, document })));
        done = batch;
        return result;
      } finally {
        this.#batch = undefined;
      }
    });
    this.#publish(done?.updates ?? []);
    this.#publishStatuses(done?.statuses ?? []);
    // The next batch waits until these updates are on their way (backpressure from the server's side).
    await this.#queryBus?.drained();
    return result;
  }

  async #greeted(event: EventMessage, payload: domain.GreetedEvent, replaying: boolean): Promise<void> {
    const document = { message: payload.message, greeterId: payload.greeterId, greetedAt: event.timestamp };
    const update = replaying ? [] : [toGreeting(event.id, document)];
    if (this.#batch) {
      this.#batch.greetings.push({ id: event.id, document });
      this.#batch.updates.push(...update);
    } else {
      await this.#model.greetings.put(event.id, document);
    }
    await this.#applyStatus(event, (s) => ({ ...s, greetingCount: s.greetingCount + 1 }));
    if (!this.#batch) {
      this.#publish(update);
      await this.#queryBus?.drained();
    }
  }

  async #applyStatus(event: EventMessage, change: (doc: GreeterDocument) => GreeterDocument): Promise<void> {
    const aggregate = event.aggregate;
    if (!aggregate) return;
    const current = this.#batch?.statuses.get(aggregate.id) ?? await this.#model.greeters.get(aggregate.id) ??
      { recording: true, greetingCount: 0, sequence: -1 };
    if (aggregate.sequence <= current.sequence) return;
    const next = { ...change(current), sequence: aggregate.sequence };
    if (this.#batch) this.#batch.statuses.set(aggregate.id, next);
    else {
      await this.#model.greeters.put(aggregate.id, next);
      this.#publishStatuses([[aggregate.id, next]]);
    }
  }

  #publish(greetings: readonly Greeting[]): void {
    for (const greeting of greetings) {
      this.#queryBus?.emitUpdate({ query: domain.GreetingsQuerySchema }, greeting);
    }
  }

  /** Status updates go out after the write (also while replaying: the latest status wins). */
  #publishStatuses(statuses: Iterable<[string, GreeterDocument]>): void {
    for (const [greeterId, document] of statuses) {
      this.#queryBus?.emitUpdate(
        { query: domain.GreeterStatusQuerySchema, where: (query) => query.greeterId === greeterId },
        toStatus(document),
      );
    }
  }
}

/** Subscribes the greeter's query handlers (search, all greetings, status). */
export async function registerGreeterQueries(
  queryBus: QueryBus,
  model: GreeterModel,
): Promise<Registration[]> {
  return [
    await queryBus.subscribe(domain.SearchQuerySchema, async ({ payload }) => {
      const limit = Math.min(payload.limit > 0 ? payload.limit : 100, MAX_RESULTS);
      const found = payload.query.trim() === ""
        ? await model.greetings.list({ orderBy: "greetedAt", descending: true, limit })
        : await model.greetings.search(payload.query, { limit });
      return create(domain.GreetingListSchema, { greetings: found.map((f) => toGreeting(f.id, f.document)) });
    }),
    await queryBus.subscribe(domain.GreetingsQuerySchema, async () => {
      const latest = await model.greetings.list({
        orderBy: "greetedAt",
        descending: true,
        limit: MAX_RESULTS,
      });
      return create(domain.GreetingListSchema, {
        greetings: latest.reverse().map((f) => toGreeting(f.id, f.document)),
      });
    }),
    await queryBus.subscribe(domain.GreeterStatusQuerySchema, async ({ payload }) => {
      return toStatus(await model.greeters.get(payload.greeterId));
    }),
  ];
}
