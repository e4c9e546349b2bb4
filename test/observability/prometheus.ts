/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests that check real `/metrics`
 * output: it throws on anything the format does not allow rather than guessing — a sample before its family's
 * `# TYPE`, a family split in two, a repeated series, a bad name, label or value, an escape other than `\\`,
 * `\"` and `\n`, a histogram without `+Inf`, with buckets that decrease, or whose `+Inf` bucket differs from
 * `_count`, a counter below zero.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its `# TYPE`, `# HELP` and samples. */
export interface Family {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  readonly help: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function fail(line: number, message: string, text: string): never {
  throw new Error(`Prometheus text, line ${line}: ${message}: ${JSON.stringify(text)}`);
}

function parseValue(text: string, line: number, whole: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) fail(line, `bad value "${text}"`, whole);
  return Number(text);
}

/** Reads `{a="x",b="y"}` from `text` at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(text: string, start: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (text[i] !== "}") {
    const eq = text.indexOf("=", i);
    if (eq < 0) fail(line, "label without =", text);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) fail(line, `bad label name "${name}"`, text);
    if (name in labels) fail(line, `repeated label "${name}"`, text);
    if (text[eq + 1] !== '"') fail(line, "label value not quoted", text);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const c = text[j];
      if (c === undefined || c === "\n") fail(line, "unterminated label value", text);
      if (c === '"') break;
      if (c === "\\") {
        const next = text[++j];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else fail(line, `bad escape "\\${next}"`, text);
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail(line, "expected , or } after a label", text);
  }
  return [labels, i + 1];
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ["_bucket", "_sum", "_count", ""]) {
    if (!sample.endsWith(suffix)) continue;
    const family = families.get(sample.slice(0, sample.length - suffix.length));
    if (family && (suffix === "" || family.type === "histogram" || family.type === "summary")) return family;
  }
  return undefined;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${s.name} without le`);
      group.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith("_count")) group.count = s.value;
  }
  for (const [key, group] of groups) {
    const sorted = [...group.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) throw new Error(`${family.name}${key}: buckets decrease`);
    }
    if (group.count !== sorted.at(-1)![1]) throw new Error(`${family.name}${key}: +Inf bucket ≠ _count`);
  }
}

/** Parses the whole text; throws on the first violation. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("Prometheus text must end with a line feed");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!match) return; // a plain comment
      const [, kind, name, rest = ""] = match;
      if (!METRIC_NAME.test(name)) fail(line, `bad metric name "${name}"`, raw);
      let family = families.get(name);
      if (family && family !== current) fail(line, `family "${name}" split`, raw);
      if (!family) {
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
        current = family;
      }
      if (family.samples.length > 0) fail(line, `${kind} after samples of "${name}"`, raw);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) fail(line, `unknown type "${rest}"`, raw);
        (family as { type: string }).type = rest;
      } else {
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) fail(line, "bad escape in HELP", raw);
        (family as { help: string }).help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      return;
    }
    const nameEnd = raw.search(/[{ ]/);
    if (nameEnd <= 0) fail(line, "no value", raw);
    const name = raw.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) fail(line, `bad metric name "${name}"`, raw);
    let labels: Record<string, string> = {};
    let rest = nameEnd;
    if (raw[nameEnd] === "{") [labels, rest] = parseLabels(raw, nameEnd, line);
    const fields = raw.slice(rest).trim().split(/ +/);
    if (raw[rest] !== " " || fields.length < 1 || fields.length > 2) {
      fail(line, "expected value [timestamp]", raw);
    }
    const value = parseValue(fields[0], line, raw);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) fail(line, "bad timestamp", raw);
    const family = familyOf(name, families) ?? (() => {
      const untyped: Family = { name, type: "untyped", help: "", samples: [] };
      families.set(name, untyped);
      return untyped;
    })();
    if (family !== current && family.samples.length > 0) fail(line, `family "${family.name}" split`, raw);
    current = family;
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) fail(line, "repeated series", raw);
    seen.add(key);
    if (family.type === "counter" && !(value >= 0)) fail(line, "counter below zero", raw);
    if (family.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined) {
      fail(line, "bucket without le", raw);
    }
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

/** The value of the one sample `name` with exactly these labels (among others the sample may not have). */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const family = familyOf(name, families);
  const matches =
    family?.samples.filter((s) =>
      s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
      Object.keys(s.labels).length === Object.keys(labels).length
    ) ?? [];
  if (matches.length > 1) {
    throw new Error(`${name}${JSON.stringify(labels)} matches ${matches.length} series`);
  }
  return matches[0]?.value;
}

/** The samples of `name` whose labels include `labels`. */
export function samplesOf(
  families: Map<string, Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Sample[] {
  return familyOf(name, families)?.samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  ) ?? [];
}
