/** Paths of the repository's files, independent of the directory the tests are started from. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Absolute path of a file given relative to the repository root. */
export function repoPath(relative: string): string {
  return join(HERE, "..", "..", relative);
}
