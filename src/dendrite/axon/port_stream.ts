/**
 * A handler stream of the Axon API over a `MessagePort` instead of gRPC: for a handler on another thread of the
 * process that runs the server (the program's projection thread and its embedded soma). Each side posts the
 * protocol's messages as they are (protobuf-es messages are plain objects: structured clone keeps them whole),
 * so both ends keep their gRPC stream code. One port carries one stream; an end or cancel frame tells the other
 * side that it is over.
 *
 * This side is the client's: a {@link BidiStream} like `Rpc.bidi` gives. soma serves the other end
 * (`Soma.serveQueryHandler`). Flow control: the client may send {@link PORT_STREAM_WINDOW} messages more than
 * the server has taken; beyond that `send` still posts (nothing is lost) but `drained` waits for the server's
 * credit, as a Node stream's `write` returns false and `drain` follows. A client that ignores it and runs
 * `UNSENT_LIMIT` messages ahead fails the stream instead of queueing without bound (as over gRPC).
 *
 * @module
 */
import { Channel, ChannelOverflowError } from "../core/channel.ts";
import { type BidiStream, UNSENT_LIMIT } from "./rpc.ts";
import { PORT_STREAM_WINDOW, type PortStreamFrame } from "./protocol/port_frames.ts";

/**
 * The client end of a stream over `port`: `send` posts requests, `responses` yields what the server posts until
 * it ends the stream, `cancel` (or `signal`) abandons it. The port is closed when the stream is over.
 *
 * @example
 * ```ts
 * import { portBidi } from "./port_stream.ts";
 * const { port1 } = new MessageChannel();
 * const stream = portBidi<string, string>(port1);
 * stream.send("hello");
 * stream.cancel();
 * ```
 */
export function portBidi<I, O>(
  port: MessagePort,
  signal?: AbortSignal,
  options: { readonly unsentLimit?: number } = {},
): BidiStream<I, O> {
  const unsentLimit = options.unsentLimit ?? UNSENT_LIMIT;
  // As `Rpc.bidi`'s: a reader that falls this far behind fails the stream (the connection reconnects).
  const responses = new Channel<O>(100_000);
  const window = new SendWindow();
  let open = true;
  const finish = () => {
    if (!open) return;
    open = false;
    window.close();
    signal?.removeEventListener("abort", cancel);
    port.close();
  };
  const post = (frame: PortStreamFrame<I>) => {
    if (open) port.postMessage(frame);
  };
  const cancel = () => {
    post({ kind: "cancel" });
    responses.close();
    finish();
  };
  port.onmessage = (event: MessageEvent<PortStreamFrame<O>>) => {
    const frame = event.data;
    if (frame.kind === "message") responses.push(frame.message);
    else if (frame.kind === "credit") window.credit(frame.count);
    else {
      // The server ended the stream: like a gRPC stream that completed, the reader sees its end.
      responses.close();
      finish();
    }
  };
  if (signal?.aborted) cancel();
  else signal?.addEventListener("abort", cancel, { once: true });
  return {
    send: (message) => {
      if (!open) return;
      if (window.unsent >= unsentLimit) {
        // The server takes nothing: fail the stream rather than queue without bound (as `Rpc.bidi`).
        responses.fail(new ChannelOverflowError(unsentLimit));
        return cancel();
      }
      window.sent();
      post({ kind: "message", message });
    },
    drained: () => window.drained(),
    end: () => post({ kind: "end" }),
    cancel,
    responses: responses.iterate(),
  };
}

/** The client's account of its window: what it sent that the server has not credited, and who waits for room. */
class SendWindow {
  #credit = PORT_STREAM_WINDOW;
  #waiting: (() => void)[] = [];
  #closed = false;

  /** Messages sent that the server has not credited yet. */
  get unsent(): number {
    return PORT_STREAM_WINDOW - this.#credit;
  }

  sent(): void {
    this.#credit--;
  }

  credit(count: number): void {
    this.#credit += count;
    if (this.#credit > 0) this.#wake();
  }

  /** At once while there is room (or the stream is over), else once the server's credit makes some. */
  drained(): Promise<void> {
    if (this.#closed || this.#credit > 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The stream is over: nobody waits for room any more. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const woken = this.#waiting;
    this.#waiting = [];
    for (const resolve of woken) resolve();
  }
}
