/**
 * Keep-alive on the API port: a connection that the server keeps open (it answers `Connection: keep-alive`) must
 * carry the next request too, over HTTP/1.1 and HTTP/2; under 64 keep-alive connections no call fails.
 */
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import { assert, assertEquals } from "../assert.ts";
import { startTrivialServer } from "./trivial_server.ts";
import { GREETER } from "./wire.ts";

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly socket: net.Socket;
}

/** One Connect JSON Greet on `agent`; resolves with the status, body and the socket it used. */
function greetH1(agent: http.Agent, port: number, message: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      agent,
      host: "127.0.0.1",
      port,
      method: "POST",
      path: `${GREETER}/Greet`,
      headers: { "content-type": "application/json" },
    }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, socket: request.socket! }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(JSON.stringify({ message }));
  });
}

// The front door (Deno.serve) and the gRPC port (node:http, node:http2) alike.
for (const door of ["port", "grpcPort"] as const) {
  Deno.test(`${door}: HTTP/1.1: a keep-alive connection carries the next request (no reset after the first answer)`, async () => {
    const server = await startTrivialServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await greetH1(agent, server[door], "one");
      assertEquals(first.status, 200, first.body);
      const second = await greetH1(agent, server[door], "two");
      assertEquals(second.status, 200, second.body);
      assertEquals(JSON.parse(second.body), { greetingId: "two" });
      assert(second.socket === first.socket, "the second request went over a new connection");
    } finally {
      agent.destroy();
      await server.shutdown();
    }
  });

  Deno.test(`${door}: HTTP/1.1: 64 keep-alive connections, 20 calls each: all 200, no socket error, no new connection`, async () => {
    const server = await startTrivialServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const sockets = new Set<net.Socket>();
    try {
      const failures: string[] = [];
      await Promise.all(Array.from({ length: 64 }, async (_, worker) => {
        for (let i = 0; i < 20; i++) {
          try {
            const answer = await greetH1(agent, server[door], `w${worker} #${i}`);
            sockets.add(answer.socket);
            if (answer.status !== 200) failures.push(`status ${answer.status}`);
          } catch (error) {
            failures.push(String(error));
          }
        }
      }));
      assertEquals(failures.slice(0, 5), []);
      assert(sockets.size <= 64, `${sockets.size} connections for 64 workers`);
    } finally {
      agent.destroy();
      await server.shutdown();
    }
  });

  Deno.test(`${door}: h2c: one session carries sequential and concurrent calls`, async () => {
    const server = await startTrivialServer();
    const session = http2.connect(`http://127.0.0.1:${server[door]}`);
    try {
      const call = (message: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": `${GREETER}/Greet`,
            "content-type": "application/json",
          });
          let status = 0;
          let body = "";
          stream.on("response", (headers) => (status = Number(headers[":status"])));
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => (body += chunk));
          stream.on("end", () => resolve({ status, body }));
          stream.on("error", reject);
          stream.end(JSON.stringify({ message }));
        });
      assertEquals((await call("a")).status, 200);
      assertEquals((await call("b")).status, 200);
      const many = await Promise.all(Array.from({ length: 64 }, (_, i) => call(`c${i}`)));
      assertEquals(many.filter((answer) => answer.status !== 200).length, 0);
      assert(!session.closed && !session.destroyed);
    } finally {
      session.close();
      await server.shutdown();
    }
  });
}
