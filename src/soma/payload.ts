/**
 * {@link Payload}: a message payload at soma's boundary, encoded or decoded only when it actually crosses to the
 * other side. The wire mapping itself (metadata, payloads, events, instructions, errors) is the protocol layer
 * both sides share, `src/dendrite/axon/protocol/`.
 *
 * @module
 */
import { type DescMessage, fromBinary, type Message } from "@bufbuild/protobuf";
import { type MessageRegistry, SerializationError, type SerializedPayload } from "../dendrite/mod.ts";

/**
 * A message payload on its way through soma: a typed in-process message, a serialized (wire) payload, or both.
 * The other form is produced on first use and kept.
 */
export class Payload {
  #message: Message | undefined;
  #serialized: SerializedPayload | undefined;

  private constructor(message: Message | undefined, serialized: SerializedPayload | undefined) {
    this.#message = message;
    this.#serialized = serialized;
  }

  /** A payload held as a typed message. */
  static ofMessage(message: Message): Payload {
    return new Payload(message, undefined);
  }

  /** A payload held as wire bytes. */
  static ofSerialized(serialized: SerializedPayload): Payload {
    return new Payload(undefined, serialized);
  }

  /** The payload's type name. */
  get type(): string {
    return this.#message?.$typeName ?? this.#serialized!.type;
  }

  /** Whether it is an empty payload (Axon's `"empty"` type or no bytes and no type). */
  get empty(): boolean {
    return this.#message === undefined &&
      (this.#serialized!.type === "" || this.#serialized!.type === "empty");
  }

  /** The wire form, encoded with `registry` on first use. */
  serialized(registry: MessageRegistry): SerializedPayload {
    this.#serialized ??= registry.encode(this.#message!);
    return this.#serialized;
  }

  /** The typed form: decoded with `schema` when given (and it matches), else with `registry`. */
  message(registry: MessageRegistry, schema?: DescMessage): Message {
    if (this.#message) return this.#message;
    const serialized = this.#serialized!;
    if (
      schema && schema.typeName === serialized.type &&
      registry.revision(serialized.type) === serialized.revision
    ) {
      try {
        this.#message = fromBinary(schema, serialized.data);
      } catch (cause) {
        throw new SerializationError(`Payload of type "${serialized.type}" does not decode`, { cause });
      }
    } else {
      this.#message = registry.decode(serialized);
    }
    return this.#message;
  }
}
