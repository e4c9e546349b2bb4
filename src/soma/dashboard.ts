/**
 * soma's status page: static HTML, a stylesheet and a script served as separate resources under a strict
 * Content-Security-Policy (no inline script or style, no framing). The script renders every table from the JSON
 * with DOM APIs and `textContent` (no HTML is ever built from data) and handles every button with one listener.
 *
 * To add a view (e.g. dead letters), add its JSON source to `SOURCES` and a table to `VIEWS` in {@link SCRIPT}: a
 * view names its source, turns the document into rows, and lists columns as `[title, cell]`, where a cell returns
 * text (numbers and booleans are shown as text) or `{ actions: [{ label, path }] }` for buttons that POST to `path`.
 * Components of soma's process add tables without changing this file: `/v1/status` lists their `sections`
 * (`Soma.addStatusSection`), rendered after the views as text.
 *
 * The health line and the charts (throughput, processor lag) come from dashboard_charts.ts.
 *
 * @module
 */
import { CHARTS_SCRIPT } from "./dashboard_charts.ts";

/** The Content-Security-Policy of every response of the status port. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers every response of the status port carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
};

/** The page. */
export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>soma</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head><body>
<h1>soma <small id="node"></small></h1>
<form id="auth" aria-label="Sign in to soma">
<label>Access token <input id="token" type="password" autocomplete="off" spellcheck="false"></label>
<button type="submit">Use</button> <button type="button" id="forget">Forget</button>
<span id="auth-state" role="status"></span>
</form>
<ul id="health" aria-label="Processor health"></ul>
<section id="charts" aria-label="Recent minutes"></section>
<main id="views"></main>
<div id="sections"></div>
<p id="result" role="status"></p>
</body></html>
`;

/** The stylesheet. */
export const STYLE = `body{font:14px system-ui,sans-serif;margin:2rem;color:#222}h1{font-size:1.4rem}
h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;overflow-wrap:anywhere;max-width:40ch}
th{background:#f4f4f4}button{font-size:12px;margin-right:.2rem}.err{color:#b00}
#auth{margin:1rem 0}#auth-state{margin-left:.5rem;color:#555}
#health{list-style:none;padding:0}#health li{padding:.2rem .5rem;margin:.2rem 0;border-left:4px solid #2a2}
#health li.behind{border-color:#d90}#health li.bad{border-color:#b00;color:#b00}
#charts{display:flex;flex-wrap:wrap;gap:1.5rem}.chart{margin:0}.chart figcaption{font-weight:600}
.chart svg{border:1px solid #ddd;background:#fcfcfc}.axis{stroke:#999}.scale{font-size:10px;fill:#666}
.series{fill:none;stroke-width:2}.series.failing{stroke-dasharray:4 3}.legend{list-style:none;padding:0;margin:.3rem 0}
.c0{stroke:#3b6ea5;color:#3b6ea5}.c1{stroke:#d9822b;color:#d9822b}.c2{stroke:#2a9d55;color:#2a9d55}
.c3{stroke:#b03a8c;color:#b03a8c}.c4{stroke:#7a5c2e;color:#7a5c2e}.c5{stroke:#555;color:#555}
`;

/** The favicon (an inline SVG). */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
  `<circle cx="16" cy="16" r="13" fill="#3b6ea5"/><circle cx="16" cy="16" r="5" fill="#fff"/></svg>`;

/** The page's script. */
export const SCRIPT = `"use strict";${CHARTS_SCRIPT}
const TOKEN_KEY = "soma-token";
const SOURCES = { status: "/v1/status", processors: "/v1/processors", history: "/v1/history" };
const ACTIONS = ["pause", "start", "split", "merge", "release"];
const permits = (p) => (p === null || p === undefined ? "∞" : p);
const time = (ms) => (typeof ms === "number" ? new Date(ms).toISOString() : "");

const processorRows = (processors) => {
  const rows = [];
  for (const p of processors) {
    for (const i of p.instances) {
      for (const s of i.segments.length ? i.segments : [null]) rows.push({ p, i, s });
    }
  }
  return rows;
};
const actionPath = (r, action) => {
  const query = new URLSearchParams({ segment: String(r.s ? r.s.segment : 0), client: r.i.clientId });
  return "/v1/processors/" + encodeURIComponent(r.p.name) + "/" + action + "?" + query;
};

const deadLetterRows = (processors) => {
  const rows = [];
  for (const p of processors) {
    for (const i of p.instances) {
      for (const s of i.deadLetters ? i.deadLetters.sequences : []) rows.push({ p, count: i.deadLetters.count, s });
    }
  }
  return rows;
};
const deadLetterPath = (r, action) => "/v1/processors/" + encodeURIComponent(r.p.name) + "/dead-letters/" +
  encodeURIComponent(r.s.sequenceId) + "/" + action;

const VIEWS = [
  { id: "clients", title: "Clients", source: "status", rows: (d) => d.clients || [], columns: [
    ["client", (c) => c.clientId], ["component", (c) => c.component], ["version", (c) => c.version],
    ["local", (c) => Boolean(c.local)], ["heartbeats", (c) => c.heartbeats], ["last seen", (c) => time(c.lastSeen)],
  ] },
  { id: "commands", title: "Command handlers", source: "status", rows: (d) => d.commandHandlers || [], columns: [
    ["command", (h) => h.command], ["client", (h) => h.clientId], ["component", (h) => h.component],
    ["local", (h) => h.local], ["load factor", (h) => h.loadFactor], ["permits", (h) => permits(h.permits)],
    ["queued", (h) => h.queued],
  ] },
  { id: "queries", title: "Query handlers", source: "status", rows: (d) => d.queryHandlers || [], columns: [
    ["query", (h) => h.query], ["component", (h) => h.component], ["client", (h) => h.clientId],
    ["local", (h) => h.local], ["permits", (h) => permits(h.permits)], ["queued", (h) => h.queued],
  ] },
  { id: "processors", title: "Event processors", source: "processors", rows: processorRows, columns: [
    ["processor", (r) => r.p.name], ["client", (r) => r.i.clientId], ["running", (r) => r.i.running],
    ["segment", (r) => (r.s ? r.s.segment + "/" + r.s.onePartOf : "")],
    ["token", (r) => (r.s ? r.s.tokenPosition : "")], ["lag", (r) => (r.s ? r.s.lag : "")],
    ["claimed", (r) => (r.s ? r.s.claimed !== false : "")],
    ["error", (r) => ({ text: r.s ? r.s.error : "", className: "err" })],
    ["actions", (r) => ({ actions: ACTIONS.map((a) => ({ label: a, path: actionPath(r, a) })) })],
  ] },
  { id: "dead-letters", title: "Dead letters", source: "processors", rows: deadLetterRows, columns: [
    ["processor", (r) => r.p.name], ["letters", (r) => r.count], ["sequence", (r) => r.s.sequenceId],
    ["queued", (r) => r.s.letters], ["head event", (r) => r.s.head.payloadType + " @" + r.s.head.token],
    ["revision", (r) => r.s.head.payloadRevision], ["cause", (r) => ({ text: r.s.head.cause, className: "err" })],
    ["attempts", (r) => r.s.head.attempts],
    ["actions", (r) => ({ actions: ["retry", "evict"].map((a) => ({ label: a, path: deadLetterPath(r, a) })) })],
  ] },
];

const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
const headers = () => (token() ? { "AxonIQ-Access-Token": token() } : {});

function cell(value) {
  const td = document.createElement("td");
  if (value && typeof value === "object" && Array.isArray(value.actions)) {
    for (const action of value.actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.dataset.path = action.path;
      button.dataset.label = action.label;
      td.append(button);
    }
  } else if (value && typeof value === "object") {
    td.textContent = String(value.text ?? "");
    if (value.className) td.className = value.className;
  } else {
    td.textContent = value === undefined || value === null ? "" : String(value);
  }
  return td;
}

function render(view, document_) {
  const table = document.getElementById(view.id);
  const head = document.createElement("tr");
  for (const [title] of view.columns) {
    const th = document.createElement("th");
    th.textContent = title;
    head.append(th);
  }
  const rows = document_ === undefined ? [] : view.rows(document_);
  const body = rows.map((row) => {
    const tr = document.createElement("tr");
    for (const [, value] of view.columns) tr.append(cell(value(row)));
    return tr;
  });
  table.replaceChildren(head, ...body);
}

/** Tables other components of soma's process contribute (status.sections: id, title, columns, rows). */
function renderSections(status) {
  const parts = [];
  for (const section of (status && status.sections) || []) {
    const h2 = document.createElement("h2");
    const listed = section.rows.length;
    h2.textContent = section.title + (section.count !== undefined && section.count !== listed
      ? " (" + listed + " of " + section.count + ")"
      : " (" + listed + ")");
    const table = document.createElement("table");
    table.id = "section-" + section.id;
    const head = document.createElement("tr");
    for (const title of section.columns) {
      const th = document.createElement("th");
      th.textContent = title;
      head.append(th);
    }
    table.append(head);
    for (const row of section.rows) {
      const tr = document.createElement("tr");
      for (const value of row) tr.append(cell(typeof value === "object" ? String(value) : value));
      table.append(tr);
    }
    parts.push(h2, table);
  }
  document.getElementById("sections").replaceChildren(...parts);
}

function layout() {
  const main = document.getElementById("views");
  for (const view of VIEWS) {
    const h2 = document.createElement("h2");
    h2.textContent = view.title;
    const table = document.createElement("table");
    table.id = view.id;
    main.append(h2, table);
  }
}

async function load(url) {
  const response = await fetch(url, { headers: headers(), cache: "no-store" });
  if (response.status === 401 || response.status === 403) return { denied: response.status };
  return { body: await response.json() };
}

async function refresh() {
  const loaded = {};
  for (const [name, url] of Object.entries(SOURCES)) loaded[name] = await load(url);
  const status = loaded.status.body;
  if (status) {
    document.getElementById("node").textContent = status.node.name + " · gRPC " + status.node.grpcPort +
      " · last token " + status.events.lastToken;
  }
  const denied = Object.values(loaded).some((l) => l.denied);
  document.getElementById("auth-state").textContent = denied
    ? (token() ? "the token was refused" : "enter soma's access token (DATA_DIR/secure/soma-token) to see all")
    : (token() ? "token in use (this tab only)" : "");
  renderHealth(loaded.processors.body);
  renderCharts(loaded.history.body);
  for (const view of VIEWS) render(view, loaded[view.source].body);
  renderSections(status);
}

async function act(button) {
  const response = await fetch(button.dataset.path, { method: "POST", headers: headers() });
  document.getElementById("result").textContent = button.dataset.label + ": " + response.status + " " +
    (await response.text());
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  layout();
  document.getElementById("views").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-path]");
    if (button) act(button);
  });
  document.getElementById("auth").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("token");
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = "";
    refresh();
  });
  document.getElementById("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    refresh();
  });
  refresh();
  setInterval(refresh, 2000);
});
`;
