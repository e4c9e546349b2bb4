/**
 * `deno task new <kind> <Name> [--dry-run]`: scaffolds an aggregate, projection, query, rpc or a whole feature
 * (all four) into the application, or turns the template into your own service (`new service <name>`).
 *
 * Every change is planned in memory first (see `workspace.ts`); a refusal writes nothing. After writing, it runs
 * `deno task gen` (when proto files changed) and `deno fmt` on the written files.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { planAggregate } from "./aggregate.ts";
import { planFeature } from "./feature.ts";
import { names } from "./names.ts";
import { readProject } from "./project.ts";
import { planProjection } from "./projection.ts";
import { planQuery } from "./query.ts";
import { planRpc } from "./rpc.ts";
import { planService } from "./service.ts";
import { type Change, ScaffoldError, Workspace } from "./workspace.ts";

const KINDS = {
  aggregate: planAggregate,
  projection: planProjection,
  query: planQuery,
  rpc: planRpc,
  feature: planFeature,
} as const;

const USAGE = `Usage: deno task new <kind> <Name> [--dry-run]

Kinds:
  aggregate   proto messages, the aggregate (decide/evolve/initialState/result), its test, its registration
  projection  a projection into a document collection, its test, its processor (listed on the dashboard)
  query       query messages, the handler reading the projection, its test, its registration
  rpc         a <Name>Service (record + list), its test, its route and access-policy entries
  feature     all four above
  service     deno task new service <name>: turn this template into your own service (see README)

Names are PascalCase ("Farewell", "GiftCard"); a service name is lower-case letters and digits ("billing").
--dry-run lists the files that would be written and changes nothing.`;

/** Runs a command, failing with its name when it fails. */
async function run(root: string, args: string[]): Promise<void> {
  const status = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  if (!status.success) throw new Error(`"deno ${args.join(" ")}" failed with exit code ${status.code}`);
}

function describe(changes: readonly Change[]): string {
  return changes.map((change) => `  ${change.action.padEnd(6)} ${change.path}`).join("\n");
}

/** Plans and (unless `dryRun`) applies one scaffold; returns the planned changes. */
export async function scaffold(
  root: string,
  kind: string,
  name: string,
  options: { readonly dryRun?: boolean; readonly after?: boolean } = {},
): Promise<Change[]> {
  const workspace = new Workspace(root);
  if (kind === "service" || kind === "init") planService(workspace, name);
  else {
    const plan = KINDS[kind as keyof typeof KINDS];
    if (!plan) throw new ScaffoldError(`Unknown kind "${kind}"\n\n${USAGE}`);
    plan(workspace, readProject(workspace), names(name));
  }
  const changes = workspace.changes();
  if (options.dryRun) return changes;
  await workspace.apply();
  if (options.after === false) return changes;
  if (changes.some((change) => change.path.endsWith(".proto"))) {
    await run(root, ["run", "-A", "scripts/gen.ts"]);
  }
  const formatted = changes.filter((c) => c.action !== "delete" && /\.(ts|tsx|md|json)$/.test(c.path));
  if (formatted.length > 0) await run(root, ["fmt", "--quiet", ...formatted.map((change) => change.path)]);
  return changes;
}

async function main(args: string[]): Promise<number> {
  const dryRun = args.includes("--dry-run");
  const positional = args.filter((arg) => arg !== "--dry-run");
  if (positional.length !== 2 || positional.some((arg) => arg.startsWith("-"))) {
    console.error(USAGE);
    return 2;
  }
  const [kind, name] = positional;
  const root = fileURLToPath(new URL("../..", import.meta.url));
  try {
    const changes = await scaffold(root, kind, name, { dryRun });
    console.log(`${dryRun ? "Would change (dry run, nothing written)" : "Changed"}:\n${describe(changes)}`);
    return 0;
  } catch (error) {
    if (!(error instanceof ScaffoldError)) throw error;
    console.error(`Error: ${error.message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
