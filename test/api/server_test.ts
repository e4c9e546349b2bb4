/**
 * The HTTP server around the API: health, the UI, HTTP/1.1 and HTTP/2 on one port, graceful shutdown; and the
 * program itself (`src/main.ts`): --help, bad flags, start with security provisioned, SIGTERM, no secret logged.
 */
import http2 from "node:http2";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "./fixture.ts";
import { grpc, grpcClient, serverStream, unary } from "./grpc_client.ts";
import { connectJson, GREETER } from "./wire.ts";

const LOGIN = "/dendrite.security.v1.AuthService/Login";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function h2Get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({ ":path": path });
    let status = 0;
    let body = "";
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", reject);
  });
}

Deno.test("/healthz answers over HTTP/1.1 and cleartext HTTP/2 on the same port", async () => {
  const t = await startTestApp();
  try {
    const h1 = await fetch(`${t.url}/healthz`);
    assertEquals(h1.status, 200);
    assertEquals(await h1.json(), { status: "ok" });
    const h2 = await h2Get(t.url, "/healthz");
    assertEquals(h2.status, 200);
    assertEquals(JSON.parse(h2.body), { status: "ok" });
  } finally {
    await t.close();
  }
});

Deno.test("the UI is served at / with its bundle and styles", async () => {
  const t = await startTestApp({ ui: true });
  try {
    const page = await fetch(`${t.url}/`);
    assertEquals(page.status, 200);
    assert(page.headers.get("content-type")?.startsWith("text/html"));
    assert(page.headers.get("content-security-policy")?.includes("default-src 'self'"));
    const html = await page.text();
    assert(html.includes('src="/app.js"') && html.includes('href="/styles.css"'), html);

    const js = await fetch(`${t.url}/app.js`, { headers: { "accept-encoding": "gzip" } });
    assertEquals(js.status, 200);
    assert(js.headers.get("content-type")?.startsWith("text/javascript"));
    const code = await js.text();
    assert(code.includes("application/grpc-web"), "the bundle carries the grpc-web transport");
    assert(code.length < 400_000, `bundle size ${code.length}`);
    const etag = js.headers.get("etag");
    assert(etag);
    const again = await fetch(`${t.url}/app.js`, { headers: { "if-none-match": etag } });
    await again.body?.cancel();
    assertEquals(again.status, 304);

    const css = await fetch(`${t.url}/styles.css`);
    assert(css.headers.get("content-type")?.startsWith("text/css"));
    await css.body?.cancel();
    const missing = await fetch(`${t.url}/favicon.ico`);
    await missing.body?.cancel();
    assertEquals(missing.status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("shutdown ends live streams, finishes, and stops accepting", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    await unary(client, GreeterService.method.greet, { message: "before shutdown" });
    const stream = serverStream(client, GreeterService.method.greetings, {});
    const ended = new Promise<string>((resolve) => {
      stream.on("error", (error: grpc.ServiceError) => resolve(`error ${error.code}`));
      stream.on("end", () => resolve("end"));
    });
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    const started = performance.now();
    await t.server.shutdown();
    assert(performance.now() - started < 5_000, "shutdown does not wait for the deadline");
    const outcome = await ended;
    assert(outcome === "end" || outcome === `error ${grpc.status.UNAVAILABLE}`, outcome);
    const refused = await fetch(`${t.url}/healthz`).then(() => "answered", () => "refused");
    assertEquals(refused, "refused");
  } finally {
    client.close();
    await t.close();
  }
});

async function runMain(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("main: --help prints the usage; a bad flag exits with code 2", async () => {
  const help = await runMain(["--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.includes("Usage:") && help.stdout.includes("--data-dir"), help.stdout);
  const bad = await runMain(["--port=eighty"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("--port must be a port number"), bad.stderr);
});

Deno.test("main: starts with security, says where the admin password is, logs no secret, exits 0 on SIGTERM", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-main-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", "--port=0", `--data-dir=${dataDir}`],
    cwd: ROOT,
    env: {
      // soma on ephemeral ports, with an access token that must never be logged.
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      AXON_TOKEN: "hunter2-access-token",
      // A root key of its own next to the data (never src/example/security/root_key.generated.ts), and a
      // generated admin password (empty means unset).
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: "",
      ELASTICSEARCH_URL: "", // SQLite, even when the suite runs with ELASTICSEARCH_URL set
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: Record<string, unknown>[] = [];
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let port: number | undefined;
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`main exited early: ${await stderr}`);
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line.msg === "listening") port = line.port;
      }
    }
    const url = `http://127.0.0.1:${port}`;
    const passwordFile = join(dataDir, "secure", "admin-password");
    const signIn = lines.find((l) => l.msg === "admin sign-in");
    assertEquals(signIn?.passwordFile, passwordFile, "the start-up log says where the password is");
    const password = (await Deno.readTextFile(passwordFile)).trim();
    assert(password.length >= 16, "a generated password");

    const greet = await connectJson(url, `${GREETER}/Greet`, { message: "hello main" });
    assertEquals(greet.response.status, 200);
    const anonymous = await connectJson(url, `${GREETER}/Stop`, {});
    assertEquals(anonymous.response.status, 401);
    const refused = await connectJson(url, LOGIN, { identifier: "admin", password: "not-the-password" });
    assertEquals(refused.response.status, 401);
    const login = await connectJson(url, LOGIN, { identifier: "admin", password });
    assertEquals(login.response.status, 200, login.text);
    const token = (login.json as { token: string }).token;
    const stop = await connectJson(url, `${GREETER}/Stop`, {}, undefined, {
      authorization: `Bearer ${token}`,
    });
    assertEquals(stop.response.status, 200, stop.text);

    child.kill("SIGTERM");
    const rest = (async () => {
      let text = buffer;
      while (true) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += value;
      }
    })();
    const status = await child.status;
    const errors = await stderr;
    assertEquals(status.code, 0, errors);
    const all = lines.concat((await rest).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)));
    const messages = all.map((l) => l.msg);
    for (
      const msg of ["configuration", "admin sign-in", "listening", "request", "shutting down", "stopped"]
    ) {
      assert(messages.includes(msg), `logged "${msg}": ${messages}`);
    }
    const request = all.find((l) => l.msg === "request");
    assertEquals(request?.path, "/example.v1.GreeterService/Greet");
    assertEquals(request?.status, 200);
    assert(typeof request?.ms === "number");
    assert(errors.includes("Login refused"), "warnings go to stderr");
    const logged = JSON.stringify(all) + errors;
    assert(!logged.includes("hunter2"), "no access token in the logs");
    assert(!logged.includes(password), "no admin password in the logs");
    assert(!logged.includes("not-the-password"), "no attempted password in the logs");
    assert(!logged.includes(token.split(".")[2]), "no token in the logs");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await stderr;
    await Deno.remove(dataDir, { recursive: true });
  }
});
