/**
 * What `new service` removes: the example's own files, the regions of shared files marked
 * `// dendrite:example:begin` … `// dendrite:example:end` (and single lines ending in `// dendrite:example`), and
 * then every test or benchmark that still depends on a removed file (through its imports) or, under `test/`,
 * names the greeter or the enrolment example. Application code that still depends on a removed file is an error:
 * it needs a marker.
 *
 * @module
 */
import { join } from "node:path";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** Files and folders of the example that go as a whole. */
export const EXAMPLE_PATHS = [
  "proto/example/",
  "src/gen/example/",
  "src/example/greeter/",
  "src/example/enrolment/",
  "src/example/api/greeter_service.ts",
  "src/example/api/mod.ts",
  "web/",
] as const;

const SKIP = new Set(["node_modules", ".git", "data", "coverage", "dist"]);

/** Every file under the root, relative, with `/` (generated folders and dependencies skipped). */
export function listFiles(root: string, under = ""): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(join(root, under))) {
    if (SKIP.has(entry.name)) continue;
    const path = under === "" ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory) files.push(...listFiles(root, path));
    else if (entry.isFile) files.push(path);
  }
  return files.sort();
}

/** Removes the marked example regions and lines of a file's text. */
export function removeExampleRegions(path: string, text: string): string {
  const kept: string[] = [];
  let inside = false;
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "// dendrite:example:begin") {
      if (inside) throw new ScaffoldError(`"${path}": a dendrite:example:begin inside another`);
      inside = true;
    } else if (trimmed === "// dendrite:example:end") {
      if (!inside) throw new ScaffoldError(`"${path}": a dendrite:example:end without its begin`);
      inside = false;
    } else if (!inside && !line.trimEnd().endsWith("// dendrite:example")) kept.push(line);
  }
  if (inside) throw new ScaffoldError(`"${path}": a dendrite:example:begin without its end`);
  return kept.join("\n");
}

const SPECIFIERS = [
  /^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms,
  /^import\s+"([^"]+)"/gm,
  /\bimport\(\s*"([^"]+)"\s*\)/g,
  /\bnew URL\(\s*"([^"]+)",\s*import\.meta\.url/g,
];

/** The repository files a TypeScript file refers to (imports, dynamic imports, `new URL(…, import.meta.url)`). */
export function references(path: string, text: string): string[] {
  const dir = path.split("/").slice(0, -1);
  const found = new Set<string>();
  for (const pattern of SPECIFIERS) {
    for (const [, specifier] of text.matchAll(pattern)) {
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const parts = [...dir];
      for (const part of specifier.split("/")) {
        if (part === "..") parts.pop();
        else if (part !== ".") parts.push(part);
      }
      found.add(parts.join("/"));
    }
  }
  return [...found];
}

const isCode = (path: string) => /\.tsx?$/.test(path);
const isTestCode = (path: string) => path.startsWith("test/") || path.endsWith("_test.ts");
const NAMES_THE_EXAMPLE = /greet|enrol/i;

/**
 * Plans the removal of the example: its paths, its marked regions, and the tests that depend on it. Returns the
 * removed paths (for the report).
 */
export function pruneExample(workspace: Workspace): string[] {
  const all = listFiles(workspace.root);
  const removed = new Set(all.filter((path) => EXAMPLE_PATHS.some((p) => path === p || path.startsWith(p))));
  for (const path of all) {
    if (removed.has(path) || !isCode(path)) continue;
    const text = workspace.read(path);
    if (text.includes("dendrite:example")) workspace.modify(path, () => removeExampleRegions(path, text));
  }
  for (const path of all) {
    if (!removed.has(path) && path.startsWith("test/") && NAMES_THE_EXAMPLE.test(workspace.read(path))) {
      removed.add(path);
    }
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const path of all) {
      if (removed.has(path) || !isCode(path)) continue;
      const dead = references(path, workspace.read(path)).filter((target) => removed.has(target));
      if (dead.length === 0) continue;
      if (!isTestCode(path)) {
        throw new ScaffoldError(
          `"${path}" uses the example (${dead.join(", ")}) outside a dendrite:example region: mark those ` +
            `lines with "// dendrite:example" (or a begin/end region), then run again. Nothing was written`,
        );
      }
      removed.add(path);
      changed = true;
    }
  }
  for (const path of removed) workspace.remove(path);
  return [...removed].sort();
}
