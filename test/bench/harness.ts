/**
 * Benchmark harness: scenarios return rows; each figure sits next to the physical limit measured in the same run
 * (and a target, where the issue sets one). `deno task bench` prints them as one table.
 *
 * @module
 */

/** One measured figure. */
export interface BenchRow {
  readonly scenario: string;
  /** What was measured, e.g. "events/s" or "p99 ms". */
  readonly metric: string;
  readonly value: number;
  /** The physical limit or peer measured in the same run, with what it is. */
  readonly limit?: { readonly name: string; readonly value: number };
  /** The target, as text (e.g. "≥ 50% of limit", "≤ 2 ms"). */
  readonly target?: string;
  /** Whether the target is met (undefined when there is none). */
  readonly met?: boolean;
  readonly note?: string;
}

/** Runs `op` `count` times with `concurrency` in flight; returns ops/s and latency percentiles (ms). */
export async function measure(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ perSecond: number; p50: number; p99: number; mean: number; seconds: number }> {
  const latencies = new Float64Array(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (true) {
      const i = next++;
      if (i >= count) return;
      const t0 = performance.now();
      await op(i);
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.sort();
  return {
    perSecond: count / seconds,
    p50: sorted[Math.floor(count * 0.5)],
    p99: sorted[Math.min(count - 1, Math.floor(count * 0.99))],
    mean: sorted.reduce((sum, ms) => sum + ms, 0) / count,
    seconds,
  };
}

/** A ratio row: `value` against `limit`, with a minimum fraction as target. */
export function ratioRow(
  scenario: string,
  metric: string,
  value: number,
  limit: { name: string; value: number },
  minFraction: number,
  note?: string,
): BenchRow {
  return {
    scenario,
    metric,
    value,
    limit,
    target: `≥ ${Math.round(minFraction * 100)}% of limit`,
    met: value >= minFraction * limit.value,
    note,
  };
}

/** Formats rows as a Markdown table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const fmt = (n: number) => n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
  const lines = [
    "| scenario | metric | value | limit (same run) | ratio | target | met |",
    "|---|---|---:|---|---:|---|---|",
  ];
  for (const row of rows) {
    const ratio = row.limit ? `${Math.round((row.value / row.limit.value) * 100)}%` : "";
    const limit = row.limit ? `${row.limit.name}: ${fmt(row.limit.value)}` : "";
    const met = row.met === undefined ? "" : row.met ? "yes" : "NO";
    lines.push(
      `| ${row.scenario} | ${row.metric} | ${fmt(row.value)} | ${limit} | ${ratio} | ${
        row.target ?? ""
      } | ${met}${row.note ? ` (${row.note})` : ""} |`,
    );
  }
  return lines.join("\n");
}
