/**
 * What the connector's command and query handler streams (`OpenStream` of CommandService and QueryService) share:
 * grant the server permits up front and refill them by a quarter as handled requests complete, acknowledge every
 * instruction id the server sends, settle the acks of our own instructions, and release the awaited ones when the
 * stream ends. The command and query buses handle their side's requests.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { type FlowControl, FlowControlSchema, type InstructionAck } from "../../gen/axon/common_pb.ts";
import type { Acks } from "./acks.ts";
import type { BidiStream } from "./rpc.ts";
import { instructionAck } from "./protocol/instructions.ts";

/** The outbound requests this module sends, as both services spell them. */
export type ProviderControl =
  | { readonly case: "flowControl"; readonly value: FlowControl }
  | { readonly case: "ack"; readonly value: InstructionAck };

/** An inbound message of either handler stream. */
interface Inbound {
  readonly instructionId: string;
  readonly request: { readonly case: string | undefined; readonly value?: unknown };
}

/** Options of {@link ProviderStream}. */
export interface ProviderStreamOptions<O, I> {
  /** "command" or "query", for the error when the stream ends. */
  readonly kind: string;
  readonly clientId: string;
  /** Permits granted up front (refilled a quarter at a time). */
  readonly permits: number;
  readonly acks: Acks;
  /** Wraps a flow control or ack into the service's outbound message. */
  readonly outbound: (request: ProviderControl) => O;
  /** Handles one inbound message (acks are settled already); returns the work of a permit-using request. */
  readonly receive: (message: I) => Promise<unknown> | undefined;
}

/**
 * One open handler stream of the connector.
 */
export class ProviderStream<O, I extends Inbound> {
  readonly stream: BidiStream<O, I>;
  readonly #options: ProviderStreamOptions<O, I>;
  readonly #refill: number;
  #completed = 0;

  constructor(stream: BidiStream<O, I>, options: ProviderStreamOptions<O, I>) {
    this.stream = stream;
    this.#options = options;
    this.#refill = Math.max(1, Math.floor(options.permits / 4));
  }

  /**
   * Grants the first permits and serves the stream until it ends; then releases the awaited acks. Throws when it
   * ended while `signal` had not aborted and `listening()` still holds (the connection then reconnects).
   */
  async run(signal: AbortSignal, listening: () => boolean): Promise<void> {
    this.#grant(this.#options.permits);
    try {
      for await (const inbound of this.stream.responses) {
        if (inbound.request.case === "ack") {
          this.#options.acks.settle(inbound.request.value as InstructionAck);
        }
        if (inbound.instructionId) {
          this.stream.send(this.#options.outbound({
            case: "ack",
            value: instructionAck(inbound.instructionId, true, this.#options.clientId),
          }));
        }
        this.#options.receive(inbound)?.then(() => this.#done(), () => this.#done());
      }
    } finally {
      this.#options.acks.releaseAll();
    }
    if (!signal.aborted && listening()) throw new Error(`The ${this.#options.kind} stream ended`);
  }

  /** A permit-using request was handled: after a quarter of the permits, the server gets that many again. */
  #done(): void {
    if (++this.#completed < this.#refill) return;
    this.#completed = 0;
    this.#grant(this.#refill);
  }

  #grant(permits: number): void {
    this.stream.send(this.#options.outbound({
      case: "flowControl",
      value: create(FlowControlSchema, { clientId: this.#options.clientId, permits: BigInt(permits) }),
    }));
  }
}
