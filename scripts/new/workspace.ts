/**
 * A planned change set over the repository: every kind of `deno task new` reads and writes through a
 * {@link Workspace}, which keeps the changes in memory. Nothing touches the disk until {@link Workspace.apply},
 * so a refusal at any step leaves the repository as it was, and `--dry-run` prints {@link Workspace.changes}.
 *
 * @module
 */
import { dirname, join } from "node:path";

/** A refusal to scaffold: the message says what is wrong and how to go on. Nothing has been written. */
export class ScaffoldError extends Error {
  override readonly name = "ScaffoldError";
}

/** One planned file change. */
export interface Change {
  readonly action: "create" | "modify" | "delete";
  readonly path: string;
  /** The new content (absent for a delete). */
  readonly content?: string;
}

/** The repository as it will be after the planned changes. Paths are relative to the root, with `/`. */
export class Workspace {
  readonly root: string;
  /** Planned content by path; `null` marks a planned delete. */
  readonly #overlay = new Map<string, string | null>();

  constructor(root: string) {
    this.root = root;
  }

  /** Whether the file exists after the planned changes. */
  exists(path: string): boolean {
    const planned = this.#overlay.get(path);
    if (planned !== undefined) return planned !== null;
    try {
      return Deno.statSync(join(this.root, path)).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /** The file's text after the planned changes; a clear error when it does not exist. */
  read(path: string): string {
    const planned = this.#overlay.get(path);
    if (planned === null) throw new ScaffoldError(`"${path}" is planned for deletion`);
    if (planned !== undefined) return planned;
    try {
      return Deno.readTextFileSync(join(this.root, path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new ScaffoldError(`"${path}" does not exist`);
      throw error;
    }
  }

  /** Plans a new file; refuses to overwrite one. */
  create(path: string, content: string): void {
    if (this.exists(path)) throw new ScaffoldError(`"${path}" already exists; nothing was written`);
    this.#overlay.set(path, content);
  }

  /** Plans new content for an existing file. */
  modify(path: string, edit: (text: string) => string): void {
    this.#overlay.set(path, edit(this.read(path)));
  }

  /** Plans the deletion of a file (a no-op for a file that does not exist). */
  remove(path: string): void {
    if (this.exists(path)) this.#overlay.set(path, null);
  }

  /** The planned changes against the disk, sorted by path (a file created and deleted again is no change). */
  changes(): Change[] {
    const changes: Change[] = [];
    for (const [path, content] of [...this.#overlay].sort(([a], [b]) => a.localeCompare(b))) {
      const onDisk = new Workspace(this.root).exists(path);
      if (content === null) {
        if (onDisk) changes.push({ action: "delete", path });
      } else if (!onDisk) changes.push({ action: "create", path, content });
      else if (Deno.readTextFileSync(join(this.root, path)) !== content) {
        changes.push({ action: "modify", path, content });
      }
    }
    return changes;
  }

  /** Writes the planned changes to the disk. */
  async apply(): Promise<Change[]> {
    const changes = this.changes();
    for (const change of changes) {
      const file = join(this.root, change.path);
      if (change.action === "delete") {
        await Deno.remove(file);
        await this.#removeEmptyFolders(dirname(change.path));
      } else {
        await Deno.mkdir(dirname(file), { recursive: true });
        await Deno.writeTextFile(file, change.content!);
      }
    }
    return changes;
  }

  /** Removes `path` and its parents while they are empty folders (a deleted feature leaves no empty folder). */
  async #removeEmptyFolders(path: string): Promise<void> {
    for (let dir = path; dir !== "." && dir !== "" && dir !== "/"; dir = dirname(dir)) {
      const folder = join(this.root, dir);
      for await (const _ of Deno.readDir(folder)) return;
      await Deno.remove(folder);
    }
  }
}

/** The marker of an insertion point in a file: `// dendrite:scaffold:NAME`. */
export function anchorComment(name: string): string {
  return `// dendrite:scaffold:${name}`;
}

/**
 * Inserts `lines` before the anchor line `// dendrite:scaffold:NAME` of `text`, indented like the anchor. The
 * anchor must occur exactly once; a missing one is a clear error naming the file.
 */
export function insertAtAnchor(path: string, text: string, name: string, lines: readonly string[]): string {
  const anchor = anchorComment(name);
  const all = text.split("\n");
  const at = all.flatMap((line, index) => line.trim() === anchor ? [index] : []);
  if (at.length !== 1) {
    throw new ScaffoldError(
      at.length === 0
        ? `"${path}" has no "${anchor}" line: put it back where scaffolded code goes, then run again`
        : `"${path}" has the "${anchor}" line ${at.length} times; keep one`,
    );
  }
  const indent = all[at[0]].match(/^\s*/)![0];
  all.splice(at[0], 0, ...lines.map((line) => line === "" ? "" : indent + line));
  return all.join("\n");
}
