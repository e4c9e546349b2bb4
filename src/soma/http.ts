/**
 * soma's HTTP status surface: a small HTML page (see dashboard.ts), `GET /v1/status`, `GET /v1/processors`,
 * `GET /v1/history` (the samples of the page's charts), `GET /metrics` (Prometheus text, with the token), and
 * `POST /v1/processors/{name}/{pause|start|split|merge|release}` (query or JSON body: `segment`, `client`), which
 * sends the platform instruction and answers with the acks and results. Who may do what: see http_access.ts.
 *
 * The handler is a plain `Request → Response` function, testable without a listener.
 *
 * @module
 */
import { FAVICON, PAGE, SCRIPT, SECURITY_HEADERS, STYLE } from "./dashboard.ts";
import {
  authenticate,
  crossSite,
  publicStatus,
  refusalOf,
  type StatusAccess,
  type Verdict,
} from "./http_access.ts";
import { serveHttp } from "./http_listener.ts";
import type { ProcessorAction } from "./platform.ts";
import type { ActionOutcome, ProcessorView, SomaStatus } from "./status.ts";
import { type History, publicHistory } from "./history.ts";
import { type DeadLetterAction, type DeadLetterActionOutcome, matchDeadLetterRoute } from "./dead_letters.ts";

/** What the status surface reads and does. */
export interface StatusSource {
  status(): Promise<SomaStatus>;
  processors(): Promise<ProcessorView[]>;
  act(action: ProcessorAction, processor: string, segment: number, clientId?: string): Promise<ActionOutcome>;
  /** Who may read and act (default: no token, status open). */
  readonly access?: StatusAccess;
  /** soma's metrics in the Prometheus text format (`GET /metrics`, with the token). */
  metrics?(): Promise<{ readonly text: string; readonly contentType: string }>;
  /** The recent samples for the page's charts (`GET /v1/history`; without the token: no processors). */
  history?(): History;
  /** Retries or evicts a parked sequence of an in-process processor; undefined when there is no such processor. */
  deadLetterAction?(
    processor: string,
    sequenceId: string,
    action: DeadLetterAction,
  ): Promise<DeadLetterActionOutcome | undefined>;
}

const ACTIONS: readonly ProcessorAction[] = ["pause", "start", "split", "merge", "release"];

function respond(body: BodyInit, contentType: string, status = 200, cache = "no-store"): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": contentType, "cache-control": cache },
  });
}

function json(body: unknown, status = 200): Response {
  return respond(JSON.stringify(body, null, 2), "application/json; charset=utf-8", status);
}

const STATIC: Readonly<Record<string, readonly [string, string]>> = {
  "/": [PAGE, "text/html; charset=utf-8"],
  "/dashboard.js": [SCRIPT, "text/javascript; charset=utf-8"],
  "/dashboard.css": [STYLE, "text/css; charset=utf-8"],
  "/favicon.svg": [FAVICON, "image/svg+xml"],
  "/favicon.ico": [FAVICON, "image/svg+xml"],
};

/** The request handler. */
export function statusHandler(source: StatusSource): (request: Request) => Promise<Response> {
  const access = source.access ?? { openStatus: true };
  return async (request) => {
    try {
      return await route(source, access, request);
    } catch (error) {
      return json({ error: error instanceof Error ? error.message : String(error) }, 500);
    }
  };
}

async function route(source: StatusSource, access: StatusAccess, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const asset = STATIC[path];
  if (request.method === "GET" && asset) return respond(asset[0], asset[1], 200, "no-cache");
  const verdict = authenticate(request, access);
  const read = request.method === "GET" ? await readRoute(source, access, path, verdict) : undefined;
  return read ?? await processorRoute(source, request, url, path, verdict);
}

function refused(verdict: Exclude<Verdict, "ok">): Response {
  const { status, error } = refusalOf(verdict);
  return json({ error }, status);
}

/** `GET /v1/status`, `/v1/history`, `/metrics`; undefined for other paths. */
async function readRoute(
  source: StatusSource,
  access: StatusAccess,
  path: string,
  verdict: Verdict,
): Promise<Response | undefined> {
  if (path === "/v1/status") {
    if (verdict === "ok") return json(await source.status());
    if (access.openStatus) return json(publicStatus(await source.status()));
    return refused(verdict);
  }
  if (path === "/v1/history" && source.history) {
    if (verdict === "ok") return json(source.history());
    if (access.openStatus) return json(publicHistory(source.history()));
    return refused(verdict);
  }
  if (path === "/metrics" && source.metrics) {
    if (verdict !== "ok") return refused(verdict);
    const { text, contentType } = await source.metrics();
    return respond(text, contentType);
  }
  return undefined;
}

/** `/v1/processors`, its actions and dead-letter actions (POST, same-site, with the token). */
async function processorRoute(
  source: StatusSource,
  request: Request,
  url: URL,
  path: string,
  verdict: Verdict,
): Promise<Response> {
  const deadLetters = matchDeadLetterRoute(path);
  const match = deadLetters ? null : /^\/v1\/processors\/([^/]+)\/([a-z]+)$/.exec(path);
  if (path !== "/v1/processors" && !match && !deadLetters) return json({ error: "Not found" }, 404);
  if ((match || deadLetters) && request.method !== "POST") {
    return json({ error: "Use POST for processor actions" }, 405);
  }
  if (match || deadLetters) {
    const refusal = crossSite(request);
    if (refusal) return json({ error: refusal }, 403);
  }
  if (verdict !== "ok") return refused(verdict);
  if (deadLetters) return await deadLetterResponse(source, deadLetters);
  if (!match) {
    return request.method === "GET" ? json(await source.processors()) : json({ error: "Use GET" }, 405);
  }
  return await actionResponse(source, request, url, match[1], match[2]);
}

/** Runs a processor action (`segment` and `client` from the query or the JSON body). */
async function actionResponse(
  source: StatusSource,
  request: Request,
  url: URL,
  encodedProcessor: string,
  name: string,
): Promise<Response> {
  const action = name as ProcessorAction;
  if (!ACTIONS.includes(action)) return json({ error: `Unknown action "${name}"` }, 404);
  const body = await readBody(request);
  const segment = Number(url.searchParams.get("segment") ?? body.segment ?? 0);
  if (!Number.isInteger(segment) || segment < 0) {
    return json({ error: "segment must be an integer ≥ 0" }, 400);
  }
  const client = url.searchParams.get("client") ?? body.client;
  const outcome = await source.act(
    action,
    decodeURIComponent(encodedProcessor),
    segment,
    typeof client === "string" && client !== "" ? client : undefined,
  );
  if (outcome.remote.length === 0 && outcome.local === undefined) {
    return json({ ...outcome, error: `No running instance of processor "${outcome.processor}"` }, 404);
  }
  return json(outcome, outcome.success ? 200 : 502);
}

async function deadLetterResponse(
  source: StatusSource,
  route: { processor: string; sequenceId: string; action: DeadLetterAction },
): Promise<Response> {
  const outcome = await source.deadLetterAction?.(route.processor, route.sequenceId, route.action);
  if (!outcome) return json({ error: `No in-process processor "${route.processor}" with dead letters` }, 404);
  // 409: the head failed again and stays parked.
  return json(outcome, outcome.success ? 200 : 409);
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
