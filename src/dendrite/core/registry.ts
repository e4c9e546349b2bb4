/**
 * The message registry: knows every payload schema by its fully-qualified name, so serialized payloads
 * (type name + revision + protobuf bytes, as the event store and Axon Server keep them) turn back into typed
 * messages. It also holds upcasters that lift stored payloads of an older revision to the current one.
 *
 * @module
 */
import { type DescFile, type DescMessage, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { SerializationError } from "./errors.ts";

/**
 * A payload as stored and sent on the wire (Axon's `SerializedObject`).
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { MessageRegistry, type SerializedPayload } from "../mod.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const registry = new MessageRegistry([GreetedEventSchema]);
 * const stored: SerializedPayload = registry.encode(create(GreetedEventSchema, { greeterId: "main" }));
 * console.log(stored.type, stored.revision, stored.data.length); // example.v1.GreetedEvent "" …
 * ```
 */
export interface SerializedPayload {
  /** Fully-qualified protobuf message name, e.g. `example.v1.GreetedEvent`. */
  readonly type: string;
  /** Schema revision; `""` is the default. */
  readonly revision: string;
  /** Protobuf binary. */
  readonly data: Uint8Array;
}

/**
 * Lifts a stored payload of one type and revision to the next (type, revision). Chains are followed until the
 * registered revision of the resulting type is reached.
 *
 * @example
 * ```ts
 * import { MessageRegistry, type Upcaster } from "../mod.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * // Revision "1" of GreetedEvent had the same bytes: relabel it as revision "2".
 * const relabel: Upcaster = {
 *   type: "example.v1.GreetedEvent",
 *   fromRevision: "1",
 *   upcast: (data) => ({ type: "example.v1.GreetedEvent", revision: "2", data }),
 * };
 * const registry = new MessageRegistry().add(GreetedEventSchema, "2").addUpcaster(relabel);
 * ```
 */
export interface Upcaster {
  /** The payload type this upcaster reads. */
  readonly type: string;
  /** The revision it upcasts from. */
  readonly fromRevision: string;
  /** The payload at the next revision. */
  upcast(data: Uint8Array): SerializedPayload;
}

/**
 * Maps message names to generated schemas.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { MessageRegistry } from "./registry.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const registry = new MessageRegistry([GreetedEventSchema]);
 * const stored = registry.encode(create(GreetedEventSchema, { greeterId: "main", message: "hi" }));
 * const event = registry.decode(stored); // a GreetedEvent again
 * ```
 */
export class MessageRegistry {
  readonly #schemas = new Map<string, DescMessage>();
  readonly #revisions = new Map<string, string>();
  readonly #upcasters = new Map<string, Upcaster>();

  /** A registry knowing `schemas` (more with {@link MessageRegistry.add}). */
  constructor(schemas: readonly DescMessage[] = []) {
    for (const schema of schemas) this.add(schema);
  }

  /**
   * Registers a schema with its current revision (default `""`). Re-adding the same schema without a revision
   * keeps the revision it was registered with (so a processor or repository registering its schemas never
   * undoes an application's `add(schema, "2")`).
   */
  add(schema: DescMessage, revision?: string): this {
    const existing = this.#schemas.get(schema.typeName);
    if (existing && existing !== schema) {
      throw new SerializationError(`Two different schemas are registered as "${schema.typeName}"`);
    }
    this.#schemas.set(schema.typeName, schema);
    if (revision !== undefined || !existing) this.#revisions.set(schema.typeName, revision ?? "");
    return this;
  }

  /** Registers every message of generated files (nested ones too) at revision `""`. */
  addFiles(...files: readonly DescFile[]): this {
    const visit = (schema: DescMessage) => {
      if (!this.#schemas.has(schema.typeName)) this.add(schema);
      schema.nestedMessages.forEach(visit);
    };
    for (const file of files) file.messages.forEach(visit);
    return this;
  }

  /** Registers an upcaster for stored payloads of `upcaster.type` at `upcaster.fromRevision`. */
  addUpcaster(upcaster: Upcaster): this {
    this.#upcasters.set(`${upcaster.type}\u0000${upcaster.fromRevision}`, upcaster);
    return this;
  }

  /** Whether a schema is registered under `typeName`. */
  has(typeName: string): boolean {
    return this.#schemas.has(typeName);
  }

  /** The schema registered under `typeName`; throws a {@link SerializationError} when unknown. */
  schema(typeName: string): DescMessage {
    const schema = this.#schemas.get(typeName);
    if (!schema) throw new SerializationError(`Unknown message type "${typeName}"`);
    return schema;
  }

  /** The current revision of `typeName`. */
  revision(typeName: string): string {
    return this.#revisions.get(typeName) ?? "";
  }

  /** Serializes a message with its registered revision. */
  encode(message: Message): SerializedPayload {
    const schema = this.schema(message.$typeName);
    return {
      type: schema.typeName,
      revision: this.revision(schema.typeName),
      data: toBinary(schema, message),
    };
  }

  /** Upcasts a stored payload to the current revision of its (possibly new) type, without decoding it. */
  upcast(payload: SerializedPayload): SerializedPayload {
    let current = payload;
    for (let steps = 0; current.revision !== this.revision(current.type); steps++) {
      const upcaster = this.#upcasters.get(`${current.type}\u0000${current.revision}`);
      if (!upcaster) {
        throw new SerializationError(
          `No upcaster from revision "${current.revision}" of "${current.type}" to "${
            this.revision(current.type)
          }"`,
        );
      }
      if (steps > 100) throw new SerializationError(`Upcaster chain for "${payload.type}" does not end`);
      current = upcaster.upcast(current.data);
    }
    return current;
  }

  /** Deserializes a stored payload (after upcasting) into its typed message. */
  decode(payload: SerializedPayload): Message {
    const current = this.upcast(payload);
    const schema = this.schema(current.type);
    try {
      return fromBinary(schema, current.data);
    } catch (cause) {
      throw new SerializationError(`Payload of type "${current.type}" does not decode`, { cause });
    }
  }
}
