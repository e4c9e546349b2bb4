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
  /**
   * Inside a unit of work (a batch of events in one transaction): greetings and status changes are collected and
   * written once at the end of the batch, and live updates go out only after it committed.
   */
  let batch:
    | {
      readonly greetings: { id: string; document: GreetingDocument }[];
      readonly statuses: Map<string, GreeterDocument>;
      readonly updates: Greeting[];
    }
    | undefined;

  async function applyStatus(event: EventMessage, change: (doc: GreeterDocument) => GreeterDocument) {
    const aggregate = event.aggregate;
    if (!aggregate) return;
    const current = batch?.statuses.get(aggregate.id) ?? await model.greeters.get(aggregate.id) ??
      { recording: true, greetingCount: 0, sequence: -1 };
    if (aggregate.sequence <= current.sequence) return;
    const next = { ...change(current), sequence: aggregate.sequence };
    if (batch) batch.statuses.set(aggregate.id, next);
    else {
      await model.greeters.put(aggregate.id, next);
      publishStatuses([[aggregate.id, next]]);
    }
  }

  const publish = (greetings: readonly Greeting[]) => {
    for (const greeting of greetings) queryBus?.emitUpdate({ query: domain.GreetingsQuerySchema }, greeting);
  };
  /** Status updates go out after the write (also while replaying: the latest status wins). */
  const publishStatuses = (statuses: Iterable<[string, GreeterDocument]>) => {
    for (const [greeterId, document] of statuses) {
      queryBus?.emitUpdate(
        { query: domain.GreeterStatusQuerySchema, where: (query) => query.greeterId === greeterId },
        toStatus(document),
      );
    }
  };
  const unitOfWork = model.unitOfWork;

  return defineProjection({
    name: GREETER_PROJECTION,
    events: [
      domain.GreetedEventSchema,
      domain.RecordingStartedEventSchema,
      domain.RecordingStoppedEventSchema,
    ],
    async handle(event, context) {
      const payload = event.payload;
      switch (payload.$typeName) {
        case "example.v1.GreetedEvent": {
          const document = {
            message: payload.message,
            greeterId: payload.greeterId,
            greetedAt: event.timestamp,
          };
          const update = context.replaying ? [] : [toGreeting(event.id, document)];
          if (batch) {
            batch.greetings.push({ id: event.id, document });
            batch.updates.push(...update);
          } else {
            await model.greetings.put(event.id, document);
          }
          await applyStatus(event, (s) => ({ ...s, greetingCount: s.greetingCount + 1 }));
          if (!batch) publish(update);
          return;
        }
        case "example.v1.RecordingStartedEvent":
          return await applyStatus(event, (s) => ({ ...s, recording: true }));
        case "example.v1.RecordingStoppedEvent":
          return await applyStatus(event, (s) => ({ ...s, recording: false }));
      }
    },
    async reset() {
      await model.greetings.clear();
      await model.greeters.clear();
    },
    unitOfWork: unitOfWork && (async <T>(work: () => Promise<T>) => {
      let updates: Greeting[] = [];
      let statuses = new Map<string, GreeterDocument>();
      const result = await unitOfWork(async () => {
        batch = { greetings: [], statuses: new Map(), updates: [] };
        try {
          const result = await work();
          await model.greetings.putMany(batch.greetings);
          await model.greeters.putMany([...batch.statuses].map(([id, document]) => ({ id, document })));
          updates = batch.updates;
          statuses = batch.statuses;
          return result;
        } finally {
          batch = undefined;
        }
      });
      publish(updates);
      publishStatuses(statuses);
      return result;
    }),
  });
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
