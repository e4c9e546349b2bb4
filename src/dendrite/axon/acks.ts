/**
 * Instruction acknowledgements on the handler streams: a subscribe or unsubscribe is sent with an instruction id,
 * and the server answers with an `InstructionAck` carrying it. Waiting for it makes `subscribe()` resolve only
 * once the server routes to the new handler.
 *
 * @module
 */
import type { InstructionAck } from "../../gen/axon/common_pb.ts";
import { newMessageId } from "../core/message.ts";
import { RemoteError } from "../core/errors.ts";

/** Acks awaited on one stream. */
export class Acks {
  readonly #pending = new Map<string, { resolve(): void; reject(error: Error): void }>();

  /** A fresh instruction id and the promise of its ack (rejects when the server refuses the instruction). */
  expect(): { id: string; acked: Promise<void> } {
    const id = newMessageId();
    const acked = new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    return { id, acked };
  }

  /** Settles the instruction an ack refers to. */
  settle(ack: InstructionAck): void {
    const pending = this.#pending.get(ack.instructionId);
    if (!pending) return;
    this.#pending.delete(ack.instructionId);
    if (ack.success) pending.resolve();
    else {
      pending.reject(
        new RemoteError(ack.error?.errorCode ?? "AXONIQ-1003", ack.error?.message ?? "Instruction refused"),
      );
    }
  }

  /** The stream is gone: every awaited instruction will be sent again on the next stream, so stop waiting. */
  releaseAll(): void {
    for (const pending of this.#pending.values()) pending.resolve();
    this.#pending.clear();
  }
}

/** Waits for `acked`, at most `timeoutMs` (then goes on: the instruction stays in effect once it arrives). */
export async function awaitAck(acked: Promise<void> | undefined, timeoutMs = 10_000): Promise<void> {
  if (!acked) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([acked, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}
