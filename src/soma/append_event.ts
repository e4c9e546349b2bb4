/**
 * One `AppendEvent` call of soma's EventStore service: the client streams events and half-closes; soma then
 * appends them in one atomic append. A cancelled call (or a reset stream) stores nothing; an event with aggregate
 * fields but no aggregate type refuses the whole call with `INVALID_ARGUMENT`.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { setImmediate } from "node:timers";
import { type sendUnaryData, type ServerReadableStream, status as Status } from "@grpc/grpc-js";
import { AxonErrorCode, type EventRecord, type EventStore } from "../dendrite/mod.ts";
import { fromAxonEvent } from "../dendrite/axon/protocol/messages.ts";
import { type Confirmation, ConfirmationSchema, type Event } from "../gen/axon/event_pb.ts";
import { axonError, toServiceError } from "./grpc_errors.ts";

/** One AppendEvent call: collects the events, appends them at the half-close. */
export class AppendEventCall {
  readonly #store: EventStore;
  readonly #callback: sendUnaryData<Confirmation>;
  readonly #events: EventRecord[] = [];
  #cancelled = false;
  #refused: string | undefined;

  constructor(
    store: EventStore,
    call: ServerReadableStream<Event, Confirmation>,
    callback: sendUnaryData<Confirmation>,
  ) {
    this.#store = store;
    this.#callback = callback;
    call.on("data", (event: Event) => this.#add(event));
    call.on("cancelled", () => (this.#cancelled = true));
    call.on("error", () => (this.#cancelled = true));
    // A reset stream (client cancel, dead connection) also ends the readable side, and grpc-js reports the cancel
    // only in a later tick: commit after a macrotask, once every pending tick ran, and only if the stream was a
    // real half-close. Cancel = discard.
    call.on("end", () => setImmediate(() => this.#commit()));
  }

  #add(event: Event): void {
    this.#refused ??= aggregateFieldsProblem(event, this.#events.length);
    if (this.#refused === undefined) this.#events.push(fromAxonEvent(event));
  }

  #commit(): void {
    if (this.#cancelled) return;
    if (this.#refused !== undefined) {
      return this.#callback(axonError(AxonErrorCode.OTHER, this.#refused, Status.INVALID_ARGUMENT));
    }
    this.#store.append(this.#events).then(
      () => this.#callback(null, create(ConfirmationSchema, { success: true })),
      (error) => this.#callback(toServiceError(error)),
    );
  }
}

/**
 * Why an event's aggregate fields cannot be stored as sent, if they cannot. A domain event has an aggregate type
 * (Axon's rule); an aggregate identifier or sequence without one would be stored without them and without a
 * sequence check, so it is refused instead (docs/soma.md).
 */
function aggregateFieldsProblem(event: Event, index: number): string | undefined {
  if (event.aggregateType !== "") return undefined;
  if (event.aggregateIdentifier === "" && event.aggregateSequenceNumber === 0n) return undefined;
  return `Event ${index} ("${event.messageIdentifier}") has aggregate identifier "${event.aggregateIdentifier}" ` +
    `and sequence ${event.aggregateSequenceNumber} but no aggregate type: a domain event needs its aggregate ` +
    "type, a non-domain event has no aggregate identifier or sequence";
}
