/**
 * soma's HTTP status surface: a small HTML page, `GET /v1/status`, `GET /v1/processors`, and
 * `POST /v1/processors/{name}/{pause|start|split|merge|release}` (query or JSON body: `segment`, `client`), which
 * sends the platform instruction and answers with the acks and results.
 *
 * The handler is a plain `Request → Response` function, testable without a listener.
 *
 * @module
 */
import { serveHttp } from "./http_listener.ts";
import type { ProcessorAction } from "./platform.ts";
import type { ActionOutcome, ProcessorView, SomaStatus } from "./status.ts";

/** What the status surface reads and does. */
export interface StatusSource {
  status(): Promise<SomaStatus>;
  processors(): Promise<ProcessorView[]>;
  act(action: ProcessorAction, processor: string, segment: number, clientId?: string): Promise<ActionOutcome>;
}

const ACTIONS: readonly ProcessorAction[] = ["pause", "start", "split", "merge", "release"];

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** The request handler. */
export function statusHandler(source: StatusSource): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    try {
      if (request.method === "GET" && path === "/") {
        return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      if (request.method === "GET" && path === "/v1/status") return json(await source.status());
      if (request.method === "GET" && path === "/v1/processors") return json(await source.processors());
      const match = /^\/v1\/processors\/([^/]+)\/([a-z]+)$/.exec(path);
      if (match) {
        if (request.method !== "POST") return json({ error: "Use POST for processor actions" }, 405);
        const action = match[2] as ProcessorAction;
        if (!ACTIONS.includes(action)) return json({ error: `Unknown action "${match[2]}"` }, 404);
        const body = await readBody(request);
        const segment = Number(url.searchParams.get("segment") ?? body.segment ?? 0);
        if (!Number.isInteger(segment) || segment < 0) {
          return json({ error: "segment must be an integer ≥ 0" }, 400);
        }
        const client = url.searchParams.get("client") ?? body.client;
        const outcome = await source.act(
          action,
          decodeURIComponent(match[1]),
          segment,
          typeof client === "string" && client !== "" ? client : undefined,
        );
        if (outcome.remote.length === 0 && outcome.local === undefined) {
          return json({ ...outcome, error: `No running instance of processor "${outcome.processor}"` }, 404);
        }
        return json(outcome, outcome.success ? 200 : 502);
      }
      return json({ error: "Not found" }, 404);
    } catch (error) {
      return json({ error: error instanceof Error ? error.message : String(error) }, 500);
    }
  };
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "") return {};
  const value: unknown = JSON.parse(text);
  return typeof value === "object" && value !== null ? value as Record<string, unknown> : {};
}

/** A running listener. */
export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the status surface on `hostname:port` (port 0 picks a free port); see {@link serveHttp} for why node:http. */
export function serveStatus(source: StatusSource, hostname: string, port: number): Promise<StatusServer> {
  return serveHttp(statusHandler(source), hostname, port, (error) => json({ error: String(error) }, 500));
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>soma</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}th{background:#f4f4f4}
button{font-size:12px;margin-right:.2rem}.err{color:#b00}
</style></head><body>
<h1>soma <small id="node"></small></h1>
<h2>Clients</h2><table id="clients"></table>
<h2>Command handlers</h2><table id="commands"></table>
<h2>Query handlers</h2><table id="queries"></table>
<h2>Event processors</h2><table id="processors"></table>
<p id="result"></p>
<script>
const esc = (v) => String(v).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const table = (id, head, rows) => {
  document.getElementById(id).innerHTML = "<tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr>" +
    rows.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("");
};
async function act(name, action, segment, client) {
  const q = new URLSearchParams({ segment: String(segment) });
  if (client) q.set("client", client);
  const res = await fetch("/v1/processors/" + encodeURIComponent(name) + "/" + action + "?" + q, { method: "POST" });
  document.getElementById("result").textContent = action + " " + name + ": " + (await res.text());
  refresh();
}
async function refresh() {
  const status = await (await fetch("/v1/status")).json();
  const processors = await (await fetch("/v1/processors")).json();
  document.getElementById("node").textContent = status.node.name + " · gRPC " + status.node.grpcPort +
    " · last token " + status.events.lastToken;
  table("clients", ["client", "component", "version", "heartbeats", "last seen"], status.clients.map((c) =>
    [esc(c.clientId), esc(c.component), esc(c.version), c.heartbeats, new Date(c.lastSeen).toISOString()]));
  table("commands", ["command", "client", "component", "local", "load factor", "permits", "queued"],
    status.commandHandlers.map((h) => [esc(h.command), esc(h.clientId), esc(h.component), h.local, h.loadFactor,
      h.permits === null ? "∞" : h.permits, h.queued]));
  table("queries", ["query", "component", "client", "local", "permits", "queued"], status.queryHandlers.map((h) =>
    [esc(h.query), esc(h.component), esc(h.clientId), h.local, h.permits === null ? "∞" : h.permits, h.queued]));
  const rows = [];
  for (const p of processors) for (const i of p.instances) for (const s of i.segments.length ? i.segments : [null]) {
    const seg = s ? s.segment : 0;
    const buttons = ["pause", "start", "split", "merge", "release"].map((a) =>
      "<button onclick='act(" + JSON.stringify(p.name) + "," + JSON.stringify(a) + "," + seg + "," +
      JSON.stringify(i.clientId) + ")'>" + a + "</button>").join("");
    rows.push([esc(p.name), esc(i.clientId), i.running, s ? s.segment + "/" + s.onePartOf : "", s ? s.tokenPosition : "",
      s ? s.lag : "", s && s.error ? "<span class=err>" + esc(s.error) + "</span>" : "", buttons]);
  }
  table("processors", ["processor", "client", "running", "segment", "token", "lag", "error", "actions"], rows);
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
`;
