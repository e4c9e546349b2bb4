/**
 * The library's and soma's shape (the developer guide: a file holds one concept and stays under ~400 lines, a
 * function fits a screen): every module of src/dendrite and src/soma (tests aside) has at most 400 lines, and every
 * function, method, constructor, accessor and arrow function in it at most 60, measured on the TypeScript
 * compiler's own syntax tree (from the declaration to its closing brace, the doc comment not counted).
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { functionsOf, lineCount, MAX_FILE_LINES, MAX_FUNCTION_LINES } from "./shape.ts";

const LIBRARY = fileURLToPath(new URL("../../src/dendrite/", import.meta.url));
const SOMA = fileURLToPath(new URL("../../src/soma/", import.meta.url));

/** The modules (tests aside) under `root` (the library's by default), relative to it. */
function modules(root = LIBRARY, dir = ""): string[] {
  return [...Deno.readDirSync(root + dir)].flatMap((entry) => {
    const path = dir + entry.name;
    if (entry.isDirectory) return modules(root, `${path}/`);
    return path.endsWith(".ts") && !path.endsWith("_test.ts") ? [path] : [];
  });
}

/** Files over 400 lines under `root`. */
function longModules(root: string, atLeast: number): string[] {
  const paths = modules(root);
  assert(paths.length > atLeast, `only ${paths.length} modules found under ${root}`);
  return paths.map((path) => ({ path, lines: lineCount(Deno.readTextFileSync(root + path)) }))
    .filter(({ lines }) => lines > MAX_FILE_LINES)
    .map(({ path, lines }) => `${path}: ${lines} lines`);
}

/** Functions over 60 lines under `root`. */
function longFunctions(root: string, atLeast: number): string[] {
  const long: string[] = [];
  let measured = 0;
  for (const path of modules(root)) {
    for (const { name, lines } of functionsOf(path, Deno.readTextFileSync(root + path))) {
      measured++;
      if (lines > MAX_FUNCTION_LINES) long.push(`${path}: ${name} has ${lines} lines`);
    }
  }
  assert(measured > atLeast, `only ${measured} functions measured under ${root}`);
  return long;
}

Deno.test("every module of the library has at most 400 lines", () => {
  assertEquals(longModules(LIBRARY, 50), []);
});

Deno.test("every function of the library fits a screen (at most 60 lines)", () => {
  assertEquals(longFunctions(LIBRARY, 500), []);
});

Deno.test("every module of soma has at most 400 lines", () => {
  assertEquals(longModules(SOMA, 40), []);
});

Deno.test("every function of soma fits a screen (at most 60 lines)", () => {
  assertEquals(longFunctions(SOMA, 300), []);
});

Deno.test("the measure counts a function from its declaration to its closing brace, doc comment aside", () => {
  const body = Array.from({ length: 59 }, (_, i) => `  const v${i} = ${i};`).join("\n");
  const text = `/** Doc.\n * More doc.\n */\nexport class C {\n  m(): void {\n${body}\n  }\n}\n` +
    `const arrow = () => {\n${body}\n  return 1;\n};\n`;
  assertEquals(functionsOf("sample.ts", text), [
    { name: "C.m", lines: 61 },
    { name: "arrow", lines: 62 },
  ]);
});
