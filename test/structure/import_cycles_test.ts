/**
 * No import cycles among the program's own modules (type-only imports count too: a cycle is a cycle for readers
 * and tools). The graph is Deno's own (`deno info --json`), from the program's entry point.
 */
import { fileURLToPath } from "node:url";
import { assertEquals } from "../assert.ts";

const ROOT = new URL("../..", import.meta.url);

interface ModuleInfo {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier?: string };
    readonly type?: { readonly specifier?: string };
  }[];
}

async function localGraph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: fileURLToPath(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: ModuleInfo[] };
  const own = (specifier: string | undefined) => specifier?.startsWith(new URL("src/", ROOT).href) ?? false;
  const graph = new Map<string, string[]>();
  for (const module of modules.filter((m) => own(m.specifier))) {
    const targets = (module.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
      .filter((s): s is string => own(s) && !s!.includes("/src/gen/"));
    graph.set(module.specifier, [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle found by a depth-first search, each as the list of modules on it (relative to src/). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push(path.slice(path.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  const base = new URL("src/", ROOT).href;
  return found.map((cycle) => cycle.map((s) => s.slice(base.length)));
}

Deno.test("the program's modules import each other without cycles", async () => {
  assertEquals(cycles(await localGraph("src/main.ts")), []);
});
