/**
 * Edits the kinds share: an import line added once at a file's `// dendrite:scaffold:imports` anchor, and lines
 * added at any other anchor.
 *
 * @module
 */
import { insertAtAnchor, type Workspace } from "./workspace.ts";

/** Adds `line` at the file's imports anchor unless the file already has that exact line. */
export function ensureImport(workspace: Workspace, path: string, line: string): void {
  workspace.modify(path, (text) => {
    if (text.split("\n").some((existing) => existing.trim() === line)) return text;
    return insertAtAnchor(path, text, "imports", [line]);
  });
}

/**
 * Makes `name` imported from `from` in the file: added to an existing `import { … } from "from";` line, else a new
 * import line at the imports anchor.
 */
export function ensureNamedImport(workspace: Workspace, path: string, name: string, from: string): void {
  workspace.modify(path, (text) => {
    const lines = text.split("\n");
    const at = lines.findIndex((line) => line.startsWith("import { ") && line.endsWith(` } from "${from}";`));
    if (at === -1) return insertAtAnchor(path, text, "imports", [`import { ${name} } from "${from}";`]);
    const imported = lines[at].slice("import { ".length, -` } from "${from}";`.length).split(", ");
    if (imported.includes(name)) return text;
    lines[at] = `import { ${[...imported, name].sort().join(", ")} } from "${from}";`;
    return lines.join("\n");
  });
}

/** Adds `lines` before the file's `// dendrite:scaffold:NAME` anchor. */
export function insertAt(workspace: Workspace, path: string, anchor: string, lines: readonly string[]): void {
  workspace.modify(path, (text) => insertAtAnchor(path, text, anchor, lines));
}

/** A folder that exists on disk (a scaffolded feature must not land in one). */
export function folderExists(workspace: Workspace, path: string): boolean {
  try {
    return Deno.statSync(`${workspace.root}/${path}`).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
