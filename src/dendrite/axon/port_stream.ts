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
 * credit, as a Node stream's `write` returns false and `drain` follows.
 *
 * @module
 */
import { Channel } from "../core/channel.ts";
import type { BidiStream } from "./rpc.ts";
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
export function portBidi<I, O>(port: MessagePort, signal?: AbortSignal): BidiStream<I, O> {
  // As `Rpc.bidi`'s: a reader that falls this far behind fails the stream (the connection reconnects).
  const responses = new Channel<O>(100_000);
  let open = true;
  let credit = PORT_STREAM_WINDOW;
  let waiting: (() => void)[] = [];
  const wake = () => {
    const woken = waiting;
    waiting = [];
    for (const resolve of woken) resolve();
  };
  const finish = () => {
    if (!open) return;
    open = false;
    wake();
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
    else if (frame.kind === "credit") {
      credit += frame.count;
      if (credit > 0) wake();
    } else {
      // The server ended the stream: like a gRPC stream that completed, the reader sees its end.
      responses.close();
      finish();
    }
  };
  if (signal?.aborted) cancel();
  else signal?.addEventListener("abort", cancel, { once: true });
  return {
    send: (message) => {
      credit--;
      post({ kind: "message", message });
    },
    drained: () =>
      open && credit <= 0 ? new Promise<void>((resolve) => waiting.push(resolve)) : Promise.resolve(),
    end: () => post({ kind: "end" }),
    cancel,
    responses: responses.iterate(),
  };
}
