/**
 * One ListEvents call of soma's EventStore service: the reader grants permits (and may blacklist payload types)
 * on its request stream; soma follows the store from the reader's token and writes at most as many events as it
 * was granted, in runs of pre-encoded `EventWithToken` messages (one write per run, see `framedWriter`), or one by
 * one where that fast path is not available.
 *
 * @module
 */
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { EventStore, TrackedEventRecord } from "../dendrite/mod.ts";
import { streamPagesOf } from "../dendrite/eventstore/event_store.ts";
import type { GetEventsRequest } from "../gen/axon/event_pb.ts";
import { toServiceError } from "./grpc_errors.ts";
import { drained, type FramedWriter, framedWriter } from "./streams.ts";
import { encodeEventWithToken } from "./wire_event.ts";

/** ListEvents writes a run of events at most this large in one write (a run ends with its page anyway). */
const MAX_RUN_BYTES = 64 * 1024;

/** What every ListEvents call shares. */
export interface ListEventsContext {
  readonly store: EventStore;
  /** A blacklisted event is still sent after this many were skipped, so the reader's token advances. */
  readonly sendAfter: number;
  readonly grpcJsVersion: string;
  /** Why runs cannot be written in one write, when they cannot (then: one write per event). */
  readonly framedUnavailable: string | undefined;
  /** Told (once per service) that the one-by-one path is taken. */
  readonly reportFallback: (reason: string) => void;
}

/** The key of a blacklisted payload type and revision. */
function blacklistKey(type: string, revision: string): string {
  return `${type}\u0000${revision}`;
}

/** One ListEvents call; `signal` aborts when the call is cancelled or soma shuts down. */
export class ListEventsCall {
  readonly #call: ServerDuplexStream<GetEventsRequest, Uint8Array>;
  readonly #context: ListEventsContext;
  readonly #signal: AbortSignal;
  readonly #ended = new AbortController();
  readonly #stop: AbortSignal;
  readonly #blacklist = new Set<string>();
  #permits = 0;
  #started = false;
  #skipped = 0;
  #wake: (() => void) | undefined;
  #framed: FramedWriter | undefined;
  #run: Uint8Array[] = [];
  #runBytes = 0;

  constructor(
    call: ServerDuplexStream<GetEventsRequest, Uint8Array>,
    context: ListEventsContext,
    signal: AbortSignal,
  ) {
    this.#call = call;
    this.#context = context;
    this.#signal = signal;
    this.#stop = AbortSignal.any([signal, this.#ended.signal]);
    this.#stop.addEventListener("abort", () => this.#wake?.(), { once: true });
    call.on("data", (request: GetEventsRequest) => this.#onRequest(request));
    call.on("end", () => this.#ended.abort(new DOMException("Reader half-closed", "AbortError")));
    call.on("error", () => this.#ended.abort(new DOMException("Reader failed", "AbortError")));
  }

  /** More permits (and blacklist entries); the first request starts the stream at its token. */
  #onRequest(request: GetEventsRequest): void {
    for (const entry of request.blacklist) this.#blacklist.add(blacklistKey(entry.type, entry.revision));
    this.#permits += Number(request.numberOfPermits);
    if (!this.#started) {
      this.#started = true;
      void this.#serve(Math.max(0, Number(request.trackingToken)));
    }
    const resume = this.#wake;
    this.#wake = undefined;
    resume?.();
  }

  /** Blacklisted types are skipped, but one in `sendAfter` still goes out so the reader's token advances. */
  #skip(record: TrackedEventRecord): boolean {
    const key = blacklistKey(record.payload.type, record.payload.revision);
    if (this.#blacklist.size === 0 || !this.#blacklist.has(key)) {
      this.#skipped = 0;
      return false;
    }
    if (++this.#skipped < this.#context.sendAfter) return true;
    this.#skipped = 0;
    return false;
  }

  async #permitted(): Promise<void> {
    while (this.#permits <= 0) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#stop.throwIfAborted();
    }
  }

  /** Runs of events go out as one write each (see framedWriter); one by one where that is not available. */
  #openWriter(): void {
    const { framedUnavailable, grpcJsVersion } = this.#context;
    this.#framed = framedUnavailable === undefined
      ? framedWriter(this.#call, (error) => this.#call.emit("error", toServiceError(error)), grpcJsVersion)
      : undefined;
    if (!this.#framed) {
      this.#context.reportFallback(
        framedUnavailable ??
          `grpc-js ${grpcJsVersion} internals are not as expected: ListEvents writes one message per write`,
      );
    }
  }

  async #flush(): Promise<void> {
    if (this.#run.length === 0) return;
    const ready = this.#framed!.write(this.#run);
    this.#run = [];
    this.#runBytes = 0;
    if (!ready) await this.#framed!.drained(this.#stop);
  }

  async #send(record: TrackedEventRecord): Promise<void> {
    if (this.#permits <= 0) {
      await this.#flush();
      await this.#permitted();
    }
    this.#permits--;
    const message = encodeEventWithToken(record, record.token);
    if (!this.#framed) {
      if (!this.#call.write(message)) await drained(this.#call, this.#stop);
      return;
    }
    this.#run.push(message);
    this.#runBytes += message.length;
    if (this.#runBytes >= MAX_RUN_BYTES) await this.#flush();
  }

  async #serve(from: number): Promise<void> {
    this.#openWriter();
    try {
      // A page is read in one step and written without an async step per event while permits and the
      // transport allow.
      const pages = streamPagesOf(this.#context.store, { from, follow: true, signal: this.#stop });
      for await (const page of pages) {
        for (const record of page) if (!this.#skip(record)) await this.#send(record);
        await this.#flush();
      }
      if (!this.#stop.aborted) this.#call.end();
    } catch (error) {
      if (this.#stop.aborted) {
        if (this.#ended.signal.aborted && !this.#signal.aborted) this.#call.end();
        return;
      }
      this.#call.emit("error", toServiceError(error));
    }
  }
}
