/**
 * The strict Prometheus text reader rejects what the format forbids, and dendrite's `Metrics` renders text it
 * accepts: HELP/TYPE before samples, escaped label values read back unchanged, histogram buckets cumulative with
 * `+Inf` equal to `_count`, observed gauges read at scrape time (a series not recorded is gone).
 */
import { assert, assertEquals } from "../assert.ts";
import { LATENCY_BUCKETS, Metrics } from "../../src/dendrite/observability/mod.ts";
import { parsePrometheus, samplesOf, valueOf } from "./prometheus.ts";

const VALID = `# HELP a_total Things.
# TYPE a_total counter
a_total{x="1"} 3
a_total{x="2"} 4
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 0.3
h_seconds_count 2
`;

Deno.test("parsePrometheus() reads valid text", () => {
  const families = parsePrometheus(VALID);
  assertEquals(families.get("a_total")?.type, "counter");
  assertEquals(families.get("a_total")?.help, "Things.");
  assertEquals(valueOf(families, "a_total", { x: "2" }), 4);
  assertEquals(valueOf(families, "h_seconds_count"), 2);
});

Deno.test("parsePrometheus() rejects malformed text", () => {
  const bad: Record<string, string> = {
    "no final line feed": VALID.trimEnd(),
    "a value that is no number": "# TYPE a gauge\na 1x\n",
    "an unquoted label value": "# TYPE a gauge\na{x=1} 1\n",
    "an unknown escape": '# TYPE a gauge\na{x="\\t"} 1\n',
    "an unterminated label value": '# TYPE a gauge\na{x="1} 1\n',
    "a bad metric name": "# TYPE 1a gauge\n1a 1\n",
    "a bad label name": '# TYPE a gauge\na{1x="1"} 1\n',
    "a repeated series": "# TYPE a gauge\na 1\na 2\n",
    "a repeated label": '# TYPE a gauge\na{x="1",x="2"} 1\n',
    "TYPE after samples": "a 1\n# TYPE a gauge\n",
    "a split family": "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# HELP a again\n",
    "an unknown type": "# TYPE a meter\na 1\n",
    "a negative counter": "# TYPE a_total counter\na_total -1\n",
    "a histogram without +Inf": '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    "decreasing buckets":
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    "+Inf unlike _count": '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    "a bucket without le": "# TYPE h histogram\nh_bucket 2\nh_sum 1\nh_count 2\n",
    "a trailing field": "# TYPE a gauge\na 1 2 3\n",
  };
  for (const [what, text] of Object.entries(bad)) {
    let accepted = true;
    try {
      parsePrometheus(text);
    } catch {
      accepted = false;
    }
    assert(!accepted, `accepted ${what}`);
  }
});

Deno.test("Metrics renders valid text: escaped labels, histograms, observed instruments", async () => {
  const metrics = new Metrics({ meter: false });
  const counter = metrics.counter({
    name: "t_calls_total",
    help: 'Calls with "quotes" \\ and\nlines.',
    labels: ["m"],
  });
  const hostile = 'a"b\\c\nd}{,=';
  counter.inc({ m: hostile });
  counter.inc({ m: hostile }, 2);
  const histogram = metrics.histogram({ name: "t_call_duration_seconds", help: "Durations.", labels: ["m"] });
  for (const seconds of [0.0001, 0.003, 0.003, 0.2, 50]) histogram.observe({ m: "x" }, seconds);
  const gauge = metrics.gauge({ name: "t_open", help: "Open.", labels: [] });
  gauge.inc({});
  gauge.inc({});
  gauge.dec({});
  let observed: [string, number][] = [["p1", 5], ["p2", 7]];
  let seen = 43;
  metrics.observedGauge(
    { name: "t_lag_events", help: "Lag.", labels: ["processor"] },
    async (record) => {
      await Promise.resolve();
      for (const [processor, lag] of observed) record({ processor }, lag);
    },
  );
  metrics.observedCounter(
    { name: "t_seen_total", help: "Seen.", labels: [] },
    (record) => record({}, seen),
  );

  let families = parsePrometheus(await metrics.render());
  assertEquals(families.get("t_calls_total")?.help, 'Calls with "quotes" \\ and\nlines.');
  assertEquals(valueOf(families, "t_calls_total", { m: hostile }), 3);
  assertEquals(families.get("t_call_duration_seconds")?.type, "histogram");
  const buckets = samplesOf(families, "t_call_duration_seconds_bucket", { m: "x" });
  assertEquals(buckets.length, LATENCY_BUCKETS.length + 1);
  assertEquals(valueOf(families, "t_call_duration_seconds_bucket", { m: "x", le: "0.0005" }), 1);
  assertEquals(valueOf(families, "t_call_duration_seconds_bucket", { m: "x", le: "0.005" }), 3);
  assertEquals(valueOf(families, "t_call_duration_seconds_bucket", { m: "x", le: "10" }), 4);
  assertEquals(valueOf(families, "t_call_duration_seconds_bucket", { m: "x", le: "+Inf" }), 5);
  assertEquals(valueOf(families, "t_call_duration_seconds_count", { m: "x" }), 5);
  assert(Math.abs(valueOf(families, "t_call_duration_seconds_sum", { m: "x" })! - 50.2061) < 1e-9);
  assertEquals(valueOf(families, "t_open"), 1);
  assertEquals(valueOf(families, "t_lag_events", { processor: "p2" }), 7);
  assertEquals(valueOf(families, "t_seen_total"), 43);

  observed = [["p1", 0]];
  seen = 44;
  families = parsePrometheus(await metrics.render());
  assertEquals(valueOf(families, "t_lag_events", { processor: "p1" }), 0);
  assertEquals(
    valueOf(families, "t_lag_events", { processor: "p2" }),
    undefined,
    "a series not observed is gone",
  );
  assertEquals(valueOf(families, "t_seen_total"), 44);
});
