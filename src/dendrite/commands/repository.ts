/**
 * Command handling for event-sourced aggregates: load (cache, else snapshot + tail), decide, append with the
 * expected sequence; on a concurrency conflict evict and retry per the policy.
 *
 * In one process, commands for the same aggregate run one after another (a lock per aggregate id), so conflicts
 * only arise between processes; the cache then keeps the correct last sequence after every append, so it never
 * causes a conflict of its own.
 *
 * A command with an idempotency key (metadata `idempotency_key`) hands it to its events; when the store reports
 * the key as used before, the command is answered with the first handling's result (see `replay.ts`), and a
 * retry that arrives while the first try is still running here shares its outcome.
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import { context } from "@opentelemetry/api";
import { setImmediate } from "node:timers";
import { backoff, delay } from "../core/async.ts";
import { ConcurrencyError, DomainError } from "../core/errors.ts";
import { type CommandMessage, newMessageId } from "../core/message.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { EventRecord, EventStore } from "../eventstore/event_store.ts";
import { duplicateOutcome, IDEMPOTENCY_KEY, type IdempotentOutcome } from "../eventstore/idempotency.ts";
import { traceAppend } from "../observability/event_tracing.ts";
import { tracing } from "../observability/trace.ts";
import { replayResult } from "./replay.ts";
import { UnreadableEventError } from "./unreadable.ts";
import type { CommandBus, DispatchOptions, Registration } from "./command_bus.ts";
import type { AggregateDefinition } from "./aggregate.ts";
import { decideBatch, type Pending } from "./batch.ts";

/**
 * Retry policy for concurrency conflicts.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "./repository.ts";
 * const patient: RetryPolicy = { attempts: 10, baseDelayMs: 10, maxDelayMs: 1_000 };
 * console.log(patient.attempts);
 * ```
 */
export interface RetryPolicy {
  /** Total attempts (default 5). */
  readonly attempts: number;
  /** Delay before the first retry. */
  readonly baseDelayMs: number;
  /** Longest delay between retries. */
  readonly maxDelayMs: number;
}

/**
 * Options of {@link AggregateRepository} and {@link registerAggregate}.
 *
 * @example
 * ```ts
 * import type { RepositoryOptions } from "./repository.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * const options: RepositoryOptions = {
 *   eventStore: new InMemoryEventStore(),
 *   registry: new MessageRegistry(),
 *   cacheSize: 0,
 *   retry: { attempts: 3 },
 * };
 * console.log(options.cacheSize);
 * ```
 */
export interface RepositoryOptions {
  /** Where the aggregate's events (and snapshots) are stored. */
  readonly eventStore: EventStore;
  /** The schemas events are (de)serialized with. */
  readonly registry: MessageRegistry;
  /** How many aggregates to keep in memory (default 1024; 0 disables the cache). */
  readonly cacheSize?: number;
  /** Retries on a concurrency conflict (defaults in {@link RetryPolicy}). */
  readonly retry?: Partial<RetryPolicy>;
  /** At most this many queued commands of one aggregate are decided and appended together (default 64). */
  readonly maxBatch?: number;
  /** Where snapshot failures go (a snapshot failure never fails the command). Default: console.error. */
  readonly onSnapshotError?: (error: unknown, aggregateId: string) => void;
}

/**
 * A loaded aggregate: its state and the sequence of its last event (-1 when new).
 *
 * @example
 * ```ts
 * import type { Loaded } from "./repository.ts";
 * const fresh: Loaded<{ greetings: number }> = { state: { greetings: 0 }, sequence: -1 };
 * console.log(fresh.sequence);
 * ```
 */
export interface Loaded<S> {
  /** The state after the loaded events. */
  readonly state: S;
  /** The sequence number of the last loaded event, -1 for a new aggregate. */
  readonly sequence: number;
}

/**
 * Loads and changes one aggregate type.
 *
 * @example
 * ```ts
 * import { AggregateRepository } from "./repository.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * const repository = new AggregateRepository(Greeter, {
 *   eventStore: new InMemoryEventStore(),
 *   registry: new MessageRegistry(Greeter.events),
 * });
 * const { state } = await repository.load("main");
 * ```
 */
export class AggregateRepository<S, C extends Message, E extends Message> {
  /** The aggregate this repository loads and decides for. */
  readonly definition: AggregateDefinition<S, C, E>;
  readonly #store: EventStore;
  readonly #registry: MessageRegistry;
  readonly #cache = new Map<string, Loaded<S>>();
  readonly #cacheSize: number;
  readonly #retry: RetryPolicy;
  readonly #queues = new Map<string, Pending<C>[]>();
  /** Commands with an idempotency key that are being handled here, by key. */
  readonly #keyed = new Map<string, Promise<Message | undefined>>();
  readonly #maxBatch: number;
  readonly #onSnapshotError: (error: unknown, aggregateId: string) => void;

  /** A repository for `definition`'s aggregates in `options.eventStore`. */
  constructor(definition: AggregateDefinition<S, C, E>, options: RepositoryOptions) {
    this.definition = definition;
    this.#store = options.eventStore;
    this.#registry = options.registry;
    this.#cacheSize = options.cacheSize ?? 1024;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 64);
    this.#retry = { attempts: 5, baseDelayMs: 5, maxDelayMs: 250, ...options.retry };
    this.#onSnapshotError = options.onSnapshotError ??
      ((error, id) => console.error(`Snapshot of "${definition.type}" "${id}" failed:`, error));
    for (const schema of [...definition.commands, ...definition.events]) this.#registry.add(schema);
    if (definition.snapshot) this.#registry.add(definition.snapshot.schema);
  }

  /** Loads an aggregate from the cache, or from its latest snapshot plus the events after it. */
  async load(aggregateId: string, signal?: AbortSignal): Promise<Loaded<S>> {
    const cached = this.#cache.get(aggregateId);
    if (cached) {
      this.#cache.delete(aggregateId);
      this.#cache.set(aggregateId, cached);
      return cached;
    }
    let state = this.definition.initialState();
    let sequence = -1;
    for await (
      const record of this.#store.readAggregate(aggregateId, {
        allowSnapshots: this.definition.snapshot !== undefined,
        signal,
      })
    ) {
      let payload: Message;
      try {
        payload = this.#registry.decode(record.payload);
      } catch (cause) {
        throw new UnreadableEventError(this.definition.type, record, cause);
      }
      state = record.snapshot ? payload as S : this.definition.evolve(state, payload as E);
      sequence = record.aggregate.sequence;
    }
    return { state, sequence };
  }

  /**
   * Handles a command: load, decide, append; retried on concurrency conflicts.
   *
   * Commands for one aggregate queue up; the ones waiting together are decided one after another on the evolving
   * state and their events appended in one transaction (one commit, one fsync), so a busy aggregate is not limited
   * to one commit per command. A refused command fails alone; the others in its batch go on.
   */
  handle(command: CommandMessage<C>, signal?: AbortSignal): Promise<Message | undefined> {
    const key = command.metadata[IDEMPOTENCY_KEY];
    if (typeof key !== "string") return this.#enqueue(command, signal);
    const running = this.#keyed.get(key);
    if (running) return running;
    const handled = this.#enqueue(command, signal).finally(() => this.#keyed.delete(key));
    this.#keyed.set(key, handled);
    return handled;
  }

  #enqueue(command: CommandMessage<C>, signal?: AbortSignal): Promise<Message | undefined> {
    const aggregateId = this.definition.aggregateId(command.payload);
    if (!aggregateId) {
      return Promise.reject(
        new DomainError("INVALID_COMMAND", `Command "${command.payload.$typeName}" names no aggregate`, {
          kind: "invalid-argument",
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const item: Pending<C> = {
        command,
        signal,
        resolve,
        reject,
        trace: tracing.enabled ? context.active() : undefined,
      };
      const queue = this.#queues.get(aggregateId);
      if (queue) {
        queue.push(item);
        return;
      }
      this.#queues.set(aggregateId, [item]);
      // After the I/O of this turn, not in a microtask: commands that arrived in the same turn (e.g. one request on
      // each of many HTTP connections) reach the queue a few awaits apart and then share the first batch.
      setImmediate(() => this.#drain(aggregateId));
    });
  }

  async #drain(aggregateId: string): Promise<void> {
    const queue = this.#queues.get(aggregateId)!;
    while (queue.length > 0) await this.#runBatch(aggregateId, queue.splice(0, this.#maxBatch));
    this.#queues.delete(aggregateId);
  }

  /** Decides and appends a batch; settles every command of it, never throws. */
  async #runBatch(aggregateId: string, batch: Pending<C>[]): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const live = batch.filter((item) => {
        if (!item.signal?.aborted) return true;
        item.reject(item.signal.reason);
        return false;
      });
      if (live.length === 0) return;
      try {
        const outcomes = await this.#attempt(aggregateId, live);
        for (const settle of outcomes) settle();
        return;
      } catch (error) {
        const outcome = duplicateOutcome(error);
        const retried = outcome &&
          live.find((item) => item.command.metadata[IDEMPOTENCY_KEY] === outcome.key);
        if (retried) {
          this.#answerRetry(aggregateId, retried, outcome);
          batch = live.filter((item) => item !== retried);
          attempt--;
          continue;
        }
        if (error instanceof ConcurrencyError) this.#cache.delete(aggregateId);
        if (!(error instanceof ConcurrencyError) || attempt + 1 >= this.#retry.attempts) {
          for (const item of live) item.reject(error);
          return;
        }
        batch = live;
        await delay(backoff(attempt, this.#retry.baseDelayMs, this.#retry.maxDelayMs));
      }
    }
  }

  /** One try at a batch: returns how to settle each command once the append succeeded. */
  async #attempt(aggregateId: string, batch: readonly Pending<C>[]): Promise<readonly (() => void)[]> {
    const loaded = await this.load(aggregateId);
    const decided = decideBatch(this.definition, this.#registry, aggregateId, batch, loaded);
    if (decided.records.length > 0) await this.#append(aggregateId, decided.records, batch);
    this.#remember(aggregateId, { state: decided.state, sequence: decided.sequence });
    this.#maybeSnapshot(aggregateId, decided.state, loaded.sequence, decided.sequence);
    return decided.settles;
  }

  /** Appends a batch's records (in a span linked to every traced command of the batch). */
  async #append(
    aggregateId: string,
    records: readonly EventRecord[],
    batch: readonly Pending<C>[],
  ): Promise<void> {
    const append = () => this.#store.append(records);
    if (!tracing.enabled) {
      await append();
      return;
    }
    const parents = batch.flatMap((item) => item.trace ?? []);
    await traceAppend(this.definition.type, aggregateId, records.length, parents, append);
  }

  /** Answers a command whose key the store knows with the result of its first handling. */
  #answerRetry(aggregateId: string, item: Pending<C>, outcome: IdempotentOutcome): void {
    if (outcome.aggregateId !== aggregateId) {
      item.reject(
        new DomainError(
          "IDEMPOTENCY_KEY_REUSED",
          `Idempotency key "${outcome.key}" was used before for aggregate "${outcome.aggregateId}"`,
          { kind: "invalid-argument" },
        ),
      );
      return;
    }
    replayResult(this.definition, item.command.payload, outcome, this.#store, this.#registry, item.signal)
      .then(item.resolve, item.reject);
  }

  #remember(aggregateId: string, loaded: Loaded<S>): void {
    if (this.#cacheSize <= 0) return;
    this.#cache.delete(aggregateId);
    this.#cache.set(aggregateId, loaded);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }

  #maybeSnapshot(aggregateId: string, state: S, before: number, after: number): void {
    const policy = this.definition.snapshot;
    if (!policy || Math.floor((after + 1) / policy.every) === Math.floor((before + 1) / policy.every)) return;
    const payload = state as unknown as Message;
    this.#store.appendSnapshot({
      id: newMessageId(),
      timestamp: Date.now(),
      payload: this.#registry.encode(payload),
      metadata: {},
      aggregate: { type: this.definition.type, id: aggregateId, sequence: after },
    }).catch((error) => this.#onSnapshotError(error, aggregateId));
  }

  /** Forgets cached state (all aggregates, or one). */
  evict(aggregateId?: string): void {
    if (aggregateId === undefined) this.#cache.clear();
    else this.#cache.delete(aggregateId);
  }
}

/**
 * Dispatches a command to an aggregate with the target aggregate id as routing key, so consistent hashing keeps
 * each aggregate on one handler instance.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { registerAggregate, sendToAggregate } from "./repository.ts";
 * import { LocalCommandBus } from "./command_bus.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const commandBus = new LocalCommandBus();
 * const registry = new MessageRegistry(Greeter.events);
 * await registerAggregate(commandBus, Greeter, { eventStore: new InMemoryEventStore(), registry });
 * await sendToAggregate(commandBus, Greeter, create(RecordCommandSchema, { greeterId: "main" }));
 * ```
 */
export function sendToAggregate<S, C extends Message, E extends Message, R extends DescMessage = DescMessage>(
  commandBus: CommandBus,
  definition: AggregateDefinition<S, C, E>,
  command: C,
  options: DispatchOptions<R> = {},
): Promise<MessageShape<R> | undefined> {
  return commandBus.dispatch(command, { ...options, routingKey: definition.aggregateId(command) });
}

/**
 * Subscribes an aggregate's command handlers on a command bus.
 *
 * @example
 * ```ts
 * import { registerAggregate } from "./repository.ts";
 * import { LocalCommandBus } from "./command_bus.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * const { registrations } = await registerAggregate(new LocalCommandBus(), Greeter, {
 *   eventStore: new InMemoryEventStore(),
 *   registry: new MessageRegistry(Greeter.events),
 * });
 * ```
 */
export async function registerAggregate<S, C extends Message, E extends Message>(
  commandBus: CommandBus,
  definition: AggregateDefinition<S, C, E>,
  options: RepositoryOptions & { readonly loadFactor?: number },
): Promise<{ repository: AggregateRepository<S, C, E>; registrations: Registration[] }> {
  const repository = new AggregateRepository(definition, options);
  const registrations: Registration[] = [];
  for (const schema of definition.commands) {
    registrations.push(
      await commandBus.subscribe(
        schema,
        (command, context) => repository.handle(command as CommandMessage<C>, context.signal),
        { loadFactor: options.loadFactor },
      ),
    );
  }
  return { repository, registrations };
}
