/**
 * The charts and the health line of soma's status page, as part of the page's script (see dashboard.ts): drawn
 * as inline SVG with DOM APIs (`createElementNS`, `textContent`; no HTML from data, no inline script or style, so
 * the strict Content-Security-Policy holds), from `GET /v1/history` (samples every few seconds) and the live
 * `GET /v1/processors`.
 *
 * - Throughput: events appended and commands routed per second between samples.
 * - Processor lag: per processor, the largest lag of its segments, one line each.
 * - Health: one line per processor saying whether it is caught up, behind, failing or holding dead letters.
 *
 * Each line carries `data-series`, `data-last` and `data-max` (what a test or a person inspecting the page reads).
 *
 * @module
 */

/** The chart functions (plain browser JavaScript, prepended to the page's script). */
export const CHARTS_SCRIPT = `
const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 480, height: 120, pad: 6 };

function svg(name, attributes) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** series: [{ key, label, className, points: [[time, value], …] }] */
function chart(title, series, unit) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const points = series.flatMap((s) => s.points);
  const t0 = Math.min(...points.map((p) => p[0]));
  const t1 = Math.max(...points.map((p) => p[0]));
  const top = Math.max(1, ...points.map((p) => p[1]));
  const { width, height, pad } = CHART;
  const x = (t) => (t1 > t0 ? pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad) : width - pad);
  const y = (v) => pad + (1 - v / top) * (height - 2 * pad);
  const drawing = svg("svg", { viewBox: "0 0 " + width + " " + height, width, height, role: "img" });
  drawing.setAttribute("aria-label", title);
  drawing.append(svg("line", { x1: pad, y1: y(0), x2: width - pad, y2: y(0), class: "axis" }));
  const scale = svg("text", { x: pad + 2, y: pad + 10, class: "scale" });
  scale.textContent = (Math.round(top * 10) / 10) + " " + unit;
  drawing.append(scale);
  const legend = document.createElement("ul");
  legend.className = "legend";
  series.forEach((s, index) => {
    const last = s.points.length ? s.points[s.points.length - 1][1] : 0;
    const line = svg("polyline", {
      points: s.points.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" "),
      class: "series c" + (index % 6) + (s.className ? " " + s.className : ""),
      "data-series": s.key,
      "data-last": last,
      "data-max": Math.max(0, ...s.points.map((p) => p[1])),
    });
    drawing.append(line);
    const item = document.createElement("li");
    item.className = "c" + (index % 6);
    item.textContent = s.label + ": " + (Math.round(last * 10) / 10) + " " + unit;
    legend.append(item);
  });
  if (series.length === 0) {
    const empty = document.createElement("li");
    empty.textContent = "no data yet";
    legend.append(empty);
  }
  figure.append(caption, drawing, legend);
  return figure;
}

/** Per-second rates between consecutive samples of a cumulative field. */
function rates(samples, field) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].at - samples[i - 1].at) / 1000;
    if (seconds > 0) out.push([samples[i].at, Math.max(0, samples[i][field] - samples[i - 1][field]) / seconds]);
  }
  return out;
}

function renderCharts(history) {
  const box = document.getElementById("charts");
  if (!history || !Array.isArray(history.samples)) return box.replaceChildren();
  const samples = history.samples;
  const throughput = [
    { key: "rate:events", label: "events appended", points: rates(samples, "lastToken") },
    { key: "rate:commands", label: "commands routed", points: rates(samples, "commands") },
  ];
  const names = [...new Set(samples.flatMap((s) => s.processors.map((p) => p.name)))].sort();
  const lag = names.map((name) => ({
    key: "lag:" + name,
    label: name,
    className: samples.length && (samples[samples.length - 1].processors.find((p) => p.name === name) || {}).failing
      ? "failing"
      : "",
    points: samples.flatMap((s) => s.processors.filter((p) => p.name === name).map((p) => [s.at, p.lag])),
  }));
  const every = Math.round(history.intervalMs / 100) / 10;
  box.replaceChildren(
    chart("Throughput (per second, sampled every " + every + " s)", throughput, "/s"),
    chart("Processor lag (events behind the head)", lag, "events"),
  );
}

/** One line per processor: caught up, behind, failing, dead letters (from the live /v1/processors). */
function renderHealth(processors) {
  const list = document.getElementById("health");
  if (!Array.isArray(processors)) return list.replaceChildren();
  const items = processors.map((p) => {
    const segments = p.instances.flatMap((i) => i.segments);
    const lag = segments.reduce((most, s) => Math.max(most, s.lag), 0);
    const failing = segments.filter((s) => s.error).length;
    const letters = p.instances.reduce((sum, i) => sum + (i.deadLetters ? i.deadLetters.count : 0), 0);
    const problems = [];
    if (failing) problems.push("failing (" + failing + " segment" + (failing > 1 ? "s" : "") + ")");
    if (letters) problems.push(letters + " dead letter" + (letters > 1 ? "s" : ""));
    if (lag) problems.push(lag + " events behind");
    if (!p.instances.some((i) => i.running)) problems.push("not running");
    const item = document.createElement("li");
    item.dataset.processor = p.name;
    item.className = failing || letters ? "bad" : problems.length ? "behind" : "good";
    item.textContent = p.name + ": " + (problems.length ? problems.join(", ") : "caught up");
    return item;
  });
  list.replaceChildren(...items);
}
`;
