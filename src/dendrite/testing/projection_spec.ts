/**
 * Given/then for projections: given events (payloads or full envelopes), then the query model holds what you
 * assert. Each event runs through the projection's handler exactly as a processor would run it.
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";
import { type EventMessage, newMessageId } from "../core/message.ts";
import type { Projection } from "../processing/projection.ts";

function isEnvelope(value: Message | EventMessage): value is EventMessage {
  return !("$typeName" in value);
}

/**
 * Wraps a payload like a stored event: fresh id, global token by position, optional aggregate reference.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { storedEvent } from "./projection_spec.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const event = storedEvent(create(GreetedEventSchema, { greeterId: "main", message: "hi" }), 0, {
 *   type: "Greeter",
 *   id: "main",
 *   sequence: 0,
 * });
 * ```
 */
export function storedEvent<P extends Message>(
  payload: P,
  token: number,
  aggregate?: { type: string; id: string; sequence: number },
): EventMessage<P> {
  return { id: newMessageId(), payload, metadata: {}, timestamp: Date.now() + token, aggregate, token };
}

/**
 * Starts a projection spec.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { equal } from "node:assert/strict";
 * import { projectionSpec } from "./projection_spec.ts";
 * import { InMemoryDocumentStore } from "../documents/memory.ts";
 * import { greeterModel, greeterProjection } from "../../example/greeter/projection.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 *
 * await projectionSpec(greeterProjection(greeterModel(new InMemoryDocumentStore())))
 *   .given(create(GreetedEventSchema, { greeterId: "main", message: "hi" }))
 *   .then((events) => equal(events.length, 1));
 * ```
 */
export function projectionSpec(projection: Projection): {
  given(...events: (Message | EventMessage)[]): {
    then(check: (events: readonly EventMessage[]) => Promise<void> | void): Promise<void>;
  };
} {
  return {
    given(...events) {
      const envelopes = events.map((e, i) => isEnvelope(e) ? e : storedEvent(e, i));
      return {
        async then(check) {
          const controller = new AbortController();
          for (const event of envelopes) {
            if (!projection.events.some((s) => s.typeName === event.payload.$typeName)) continue;
            await projection.handle(event, { signal: controller.signal, replaying: false });
          }
          await check(envelopes);
        },
      };
    },
  };
}
