/**
 * The program's shape, by the measure of `library_shape_test.ts` (`shape.ts`): every module of the server, the
 * configuration, the example application, the entry point and the scripts (tests aside) has at most 400 lines,
 * and every function in it at most 60.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { functionsOf, lineCount, MAX_FILE_LINES, MAX_FUNCTION_LINES } from "./shape.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The folders and files this test covers. */
const COVERED = ["src/server", "src/config.ts", "src/config", "src/example", "src/main.ts", "scripts"];

/** The TypeScript modules under `path` (or `path` itself), tests aside, relative to the repository. */
function modules(path: string): string[] {
  if (Deno.statSync(join(ROOT, path)).isFile) return [path];
  return [...Deno.readDirSync(join(ROOT, path))].flatMap((entry) => {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) return modules(child);
    return /\.tsx?$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name) ? [child] : [];
  });
}

Deno.test("every module of the server, config, example and scripts has at most 400 lines", () => {
  const paths = COVERED.flatMap(modules);
  assert(paths.length > 20, `only ${paths.length} modules found`);
  const long = paths.map((path) => ({ path, lines: lineCount(Deno.readTextFileSync(join(ROOT, path))) }))
    .filter(({ lines }) => lines > MAX_FILE_LINES)
    .map(({ path, lines }) => `${path}: ${lines} lines`);
  assertEquals(long, []);
});

Deno.test("every function of the server, config, example and scripts fits a screen (at most 60 lines)", () => {
  const long: string[] = [];
  let measured = 0;
  for (const path of COVERED.flatMap(modules)) {
    for (const { name, lines } of functionsOf(path, Deno.readTextFileSync(join(ROOT, path)))) {
      measured++;
      if (lines > MAX_FUNCTION_LINES) long.push(`${path}: ${name} has ${lines} lines`);
    }
  }
  assert(measured > 200, `only ${measured} functions measured`);
  assertEquals(long, []);
});
