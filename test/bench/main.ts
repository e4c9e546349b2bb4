/**
 * `deno task bench`: runs every benchmark scenario in one process tree and prints one table, each figure next to
 * the physical limit measured in the same run. Pass scenario group names to run only those
 * (e.g. `deno task bench foundation`).
 *
 * @module
 */
import { benchApi, benchApiExternal } from "./api.ts";
import { benchConnector } from "./connector.ts";
import { benchDcb } from "./dcb.ts";
import { benchFoundation } from "./foundation.ts";
import { benchQuery } from "./query.ts";
import { benchSecurity } from "./security.ts";
import { benchSoma } from "./soma.ts";
import { benchTracing } from "./tracing.ts";
import { type BenchRow, formatTable } from "./harness.ts";

const groups: Record<string, () => Promise<BenchRow[]>> = {
  foundation: benchFoundation,
  api: async () => [...await benchApiExternal(), ...await benchApi()],
  soma: benchSoma,
  connector: benchConnector,
  query: benchQuery,
  security: benchSecurity,
  dcb: benchDcb,
  tracing: benchTracing,
};

const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(groups);
const unknown = wanted.filter((name) => !(name in groups));
if (unknown.length > 0) {
  console.error(
    `Unknown benchmark group(s): ${unknown.join(", ")}. Known: ${Object.keys(groups).join(", ")}`,
  );
  Deno.exitCode = 2;
} else {
  const rows: BenchRow[] = [];
  for (const name of wanted) {
    console.error(`Running ${name}…`);
    rows.push(...await groups[name]());
  }
  console.log(
    `Benchmarks on ${Deno.build.target}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
  );
  console.log(formatTable(rows));
}
