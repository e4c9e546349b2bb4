/**
 * Message envelopes: every command, event and query travels with an id, a typed protobuf payload, metadata and a
 * timestamp. The message name is the payload's fully-qualified protobuf type name (`payload.$typeName`).
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";

/**
 * A metadata value; integers map to Axon's `number_value`, other numbers to `double_value`.
 *
 * @example
 * ```ts
 * import type { Metadata, MetaValue } from "../mod.ts";
 * const attempt: MetaValue = 2; // an integer: Axon's number_value
 * const metadata: Metadata = { attempt, replayed: false, tenant: "acme" };
 * ```
 */
export type MetaValue = string | number | boolean;

/**
 * Message metadata: correlation, causation, trace ids and the caller's claims. Never a raw token.
 *
 * @example
 * ```ts
 * import type { Metadata } from "./message.ts";
 * const metadata: Metadata = { correlation_id: "c-1", attempt: 2, replayed: false };
 * ```
 */
export type Metadata = Readonly<Record<string, MetaValue>>;

/**
 * Well-known metadata keys.
 *
 * @example
 * ```ts
 * import { MetadataKeys } from "./message.ts";
 * const metadata = { [MetadataKeys.subject]: "alice", [MetadataKeys.roles]: "admin,user" };
 * ```
 */
export const MetadataKeys = {
  correlationId: "correlation_id",
  causationId: "causation_id",
  traceId: "trace_id",
  subject: "subject",
  roles: "roles",
} as const;

/**
 * A message with its envelope. `P` is the generated protobuf message type of the payload.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { type Envelope, envelope } from "./message.ts";
 * import { GreetCommandSchema, type GreetCommand } from "../../gen/example/v1/domain_pb.ts";
 * const message: Envelope<GreetCommand> = envelope(create(GreetCommandSchema, { greeterId: "main", message: "hi" }));
 * console.log(message.payload.$typeName, message.id);
 * ```
 */
export interface Envelope<P extends Message = Message> {
  /** Unique message id (a UUID). */
  readonly id: string;
  /** The typed payload; its `$typeName` is the message name. */
  readonly payload: P;
  /** Correlation, causation, trace ids, the caller's claims and any application keys. */
  readonly metadata: Metadata;
  /** Creation time, epoch milliseconds. */
  readonly timestamp: number;
}

/**
 * Where a domain event belongs: the aggregate's type, id and the event's sequence number in it (from 0).
 *
 * @example
 * ```ts
 * import type { AggregateRef, EventMessage } from "../mod.ts";
 * const where = (event: EventMessage): string => {
 *   const ref: AggregateRef | undefined = event.aggregate;
 *   return ref ? `${ref.type}/${ref.id}#${ref.sequence}` : "not a domain event";
 * };
 * ```
 */
export interface AggregateRef {
  /** The aggregate's type name. */
  readonly type: string;
  /** The aggregate's id. */
  readonly id: string;
  /** The event's sequence number in the aggregate, from 0. */
  readonly sequence: number;
}

/**
 * A command on its way to its handler.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { type CommandMessage, envelope } from "../mod.ts";
 * import { type GreetCommand, GreetCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const payload = create(GreetCommandSchema, { greeterId: "main", message: "hi" });
 * const command: CommandMessage<GreetCommand> = { ...envelope(payload), routingKey: payload.greeterId };
 * ```
 */
export interface CommandMessage<P extends Message = Message> extends Envelope<P> {
  /** Routing key (the target aggregate id) so one aggregate stays on one handler instance. */
  readonly routingKey: string;
}

/**
 * A decoded event. Domain events carry their aggregate reference; `token` is the global position.
 *
 * @example
 * ```ts
 * import type { EventMessage } from "../mod.ts";
 * import type { GreetedEvent } from "../../gen/example/v1/domain_pb.ts";
 * const describe = (event: EventMessage<GreetedEvent>): string =>
 *   `#${event.token ?? "?"} ${event.payload.greeterId}: ${event.payload.message}`;
 * ```
 */
export interface EventMessage<P extends Message = Message> extends Envelope<P> {
  /** The aggregate that raised it (domain events only). */
  readonly aggregate?: AggregateRef;
  /** Its position in the global stream (events read from a stream). */
  readonly token?: number;
}

/**
 * A query on its way to its handlers.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { envelope, type QueryMessage } from "../mod.ts";
 * import { type GreetingsQuery, GreetingsQuerySchema } from "../../gen/example/v1/domain_pb.ts";
 * const query: QueryMessage<GreetingsQuery> = envelope(create(GreetingsQuerySchema, {}));
 * ```
 */
export type QueryMessage<P extends Message = Message> = Envelope<P>;

let lastMs = 0;
let sequence = 0;

/**
 * A fresh message id: a UUID version 7 (RFC 9562) — 48 bits of Unix milliseconds, then a counter and random
 * bits. Ids made later sort later (also within one millisecond in this process), so stores that index events or
 * documents by id append to their indexes instead of writing all over them; the ids stay ordinary UUID strings.
 *
 * @example
 * ```ts
 * import { newMessageId } from "./message.ts";
 * const id = newMessageId(); // a UUID v7: ids sort by creation time
 * ```
 */
export function newMessageId(): string {
  const bytes = randomBytes16();
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) ms = ++lastMs;
  } else {
    lastMs = ms;
    sequence = bytes[6] & 0x07; // a small random start leaves room to count up within the millisecond
  }
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  let id = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) id += "-";
    id += HEX[bytes[i]];
  }
  return id;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Random bytes are drawn 4 KiB at a time: one `getRandomValues` call costs as much as ~10 ids' worth of slicing. */
const RANDOM_POOL = 4_096;
let random = new Uint8Array(0);
let randomOffset = 0;

/** 16 fresh random bytes (a view of the pool, never handed out twice; the caller may write to it). */
function randomBytes16(): Uint8Array {
  if (randomOffset + 16 > random.length) {
    random = crypto.getRandomValues(new Uint8Array(RANDOM_POOL));
    randomOffset = 0;
  }
  const bytes = random.subarray(randomOffset, randomOffset + 16);
  randomOffset += 16;
  return bytes;
}

/**
 * Wraps a payload in an envelope with a fresh id and the current time.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { envelope } from "./message.ts";
 * import { GreetCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const message = envelope(create(GreetCommandSchema, { greeterId: "main", message: "hi" }));
 * ```
 */
export function envelope<P extends Message>(payload: P, metadata: Metadata = {}): Envelope<P> {
  return { id: newMessageId(), payload, metadata, timestamp: Date.now() };
}

/**
 * Metadata for a message caused by `cause`: the same correlation id (or the cause's id when it has none), the cause
 * as causation id, and everything else the cause carried (trace id, subject, roles).
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { causedBy, envelope } from "./message.ts";
 * import { GreetCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const command = envelope(create(GreetCommandSchema, { greeterId: "main", message: "hi" }));
 * const metadata = causedBy(command); // correlation and causation ids of what the command causes
 * ```
 */
export function causedBy(cause: Envelope, extra: Metadata = {}): Metadata {
  return {
    ...cause.metadata,
    [MetadataKeys.correlationId]: cause.metadata[MetadataKeys.correlationId] ?? cause.id,
    [MetadataKeys.causationId]: cause.id,
    ...extra,
  };
}
