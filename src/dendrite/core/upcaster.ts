/**
 * Typed upcasters: lift a stored payload written with an older schema (layout and revision) to a newer one.
 * The old layout is described by its own protobuf message (kept only for reading history), so the conversion is
 * a typed function from one generated message type to another.
 *
 * Stored type names stay as they were written (Axon's `SerializedObject.type`); by default the stored type of the
 * old revision is the target's type name (a new layout of the same event), or give `storedType` when the event was
 * renamed.
 *
 * @module
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { SerializationError } from "./errors.ts";
import type { SerializedPayload, Upcaster } from "./registry.ts";

/**
 * Options of {@link defineUpcaster}.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { defineUpcaster, MessageRegistry, type UpcasterOptions } from "../mod.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * import { GreetedEventRevision1Schema } from "../../gen/test/v1/legacy_pb.ts";
 * // The event was stored as "example.v1.Greeted" before it was renamed:
 * const options: UpcasterOptions = { storedType: "example.v1.Greeted" };
 * const upcaster = defineUpcaster(
 *   GreetedEventRevision1Schema, "1", GreetedEventSchema, "2",
 *   (old) => create(GreetedEventSchema, { greeterId: old.greeter, message: old.text }),
 *   options,
 * );
 * new MessageRegistry().add(GreetedEventSchema, "2").addUpcaster(upcaster);
 * ```
 */
export interface UpcasterOptions {
  /** The payload type as stored at `fromRevision` (default: the target schema's type name). */
  readonly storedType?: string;
  /**
   * The type name of the result (default: the target schema's type name). Set it for an intermediate step
   * whose layout is an old one: e.g. revision "" → "1" of `example.v1.GreetedEvent`, read and written with
   * test-only layouts, keeps `resultType: "example.v1.GreetedEvent"` so the next upcaster in the chain applies.
   */
  readonly resultType?: string;
}

/**
 * Defines an upcaster from `(storedType, fromRevision)` read with the `from` layout to `to` at `toRevision`.
 * Register it with `registry.addUpcaster(...)`; chains are followed until the registered revision is reached.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { defineUpcaster } from "./upcaster.ts";
 * import { MessageRegistry } from "./registry.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * import { GreetedEventRevision1Schema } from "../../gen/test/v1/legacy_pb.ts";
 *
 * const registry = new MessageRegistry().add(GreetedEventSchema, "2");
 * registry.addUpcaster(
 *   defineUpcaster(GreetedEventRevision1Schema, "1", GreetedEventSchema, "2", (old) =>
 *     create(GreetedEventSchema, { greeterId: old.greeter, message: old.text })),
 * );
 * ```
 */
export function defineUpcaster<From extends DescMessage, To extends DescMessage>(
  from: From,
  fromRevision: string,
  to: To,
  toRevision: string,
  convert: (old: MessageShape<From>) => MessageShape<To>,
  options: UpcasterOptions = {},
): Upcaster {
  const storedType = options.storedType ?? to.typeName;
  const resultType = options.resultType ?? to.typeName;
  if (storedType === resultType && fromRevision === toRevision) {
    throw new RangeError(`An upcaster of "${storedType}" must change the revision ("${fromRevision}")`);
  }
  return {
    type: storedType,
    fromRevision,
    upcast(data: Uint8Array): SerializedPayload {
      let old: MessageShape<From>;
      try {
        old = fromBinary(from, data);
      } catch (cause) {
        throw new SerializationError(
          `Revision "${fromRevision}" of "${storedType}" does not decode as "${from.typeName}"`,
          { cause },
        );
      }
      const next = convert(old);
      return { type: resultType, revision: toRevision, data: toBinary(to, next) };
    },
  };
}
