/**
 * A live Greetings stream over HTTP/1.1 whose reader stops: the processing tests' slow client.
 *
 * @module
 */

/**
 * A Greetings stream over HTTP/1.1 on a raw socket (Connect protocol, JSON) whose reader stops after the first
 * bytes: the server's writes then block once the socket's buffers are full.
 */
export async function stuckStream(port: number) {
  const socket = await Deno.connect({ hostname: "127.0.0.1", port });
  const body = new Uint8Array([0, 0, 0, 0, 2, ...new TextEncoder().encode("{}")]);
  const head = `POST /example.v1.GreeterService/Greetings HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Content-Type: application/connect+json\r\nConnect-Protocol-Version: 1\r\nContent-Length: ${body.length}\r\n\r\n`;
  await socket.write(new Uint8Array([...new TextEncoder().encode(head), ...body]));
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(64 * 1024);
  /** Reads until `needle` arrived; bounded: the socket is closed after `timeoutMs`, which ends the read. */
  const readUntil = async (needle: string, timeoutMs = 30_000) => {
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      socket.close();
    }, timeoutMs);
    try {
      while (!text.includes(needle)) {
        const n = await socket.read(buffer).catch((error) => {
          if (timedOut) return null;
          throw error;
        });
        if (n === null && timedOut) {
          throw new Error(`no "${needle}" within ${timeoutMs} ms: ${text.slice(-300)}`);
        }
        if (n === null) throw new Error(`the stream ended before "${needle}": ${text.slice(-300)}`);
        text += decoder.decode(buffer.subarray(0, n), { stream: true });
        if (text.length > 1_000_000) text = text.slice(-100_000);
      }
      return text;
    } finally {
      clearTimeout(deadline);
    }
  };
  await readUntil("the initial greeting");
  return { readUntil, close: () => socket.close() };
}
