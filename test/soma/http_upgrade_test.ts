/**
 * soma's HTTP status port and Java's built-in HttpClient: its first request carries `Upgrade: h2c` with
 * `Content-Length: 0`. soma serves it as plain HTTP/1.1 (it used to answer 400 with an empty body).
 */
import { assert, assertEquals } from "../assert.ts";
import { testSoma } from "./raw_client.ts";

/** Sends `request` over a raw TCP socket and reads the whole answer (soma closes or the body is complete). */
async function rawExchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const decoder = new TextDecoder();
    let text = "";
    const buffer = new Uint8Array(16 * 1024);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
      const head = text.indexOf("\r\n\r\n");
      const length = /content-length: *(\d+)/i.exec(text.slice(0, Math.max(0, head)));
      if (head >= 0 && length && new TextEncoder().encode(text.slice(head + 4)).length >= Number(length[1])) {
        break;
      }
    }
    return text;
  } finally {
    conn.close();
  }
}

const javaHttpClientRequest = (path: string, method = "GET") =>
  [
    `${method} ${path} HTTP/1.1`,
    "Connection: Upgrade, HTTP2-Settings",
    "Content-Length: 0",
    "Host: 127.0.0.1",
    "HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA",
    "Upgrade: h2c",
    "User-Agent: Java-http-client/17.0.12",
    "",
    "",
  ].join("\r\n");

Deno.test("soma http: a Java HttpClient request (Upgrade: h2c, Content-Length: 0) is served as HTTP/1.1", async () => {
  const { soma, dispose } = await testSoma();
  try {
    const status = await rawExchange(soma.httpPort!, javaHttpClientRequest("/v1/status"));
    const [statusLine] = status.split("\r\n");
    assertEquals(statusLine, "HTTP/1.1 200 OK");
    const body = JSON.parse(status.slice(status.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>;
    assert(typeof body === "object" && body !== null && "clients" in body, `unexpected body: ${status}`);

    const processors = await rawExchange(soma.httpPort!, javaHttpClientRequest("/v1/processors"));
    assertEquals(processors.split("\r\n")[0], "HTTP/1.1 200 OK");
    assertEquals(JSON.parse(processors.slice(processors.indexOf("\r\n\r\n") + 4)), []);

    const page = await fetch(`http://127.0.0.1:${soma.httpPort}/`);
    assertEquals(page.status, 200);
    assert((await page.text()).includes("<h1>soma"));
  } finally {
    await dispose();
  }
});
