/// <reference lib="deno.unstable" />
/**
 * soma's parts stay small (the project's standard, issue #21): a file holds one concept and stays under 400 lines,
 * a function fits a screen (60 lines). Functions are found by Deno's own linter AST (`Deno.lint.runPlugin`):
 * declarations, expressions, arrows and methods, nested ones included, each measured from its first to its last
 * line.
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import { assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SOMA = join(ROOT, "src/soma");
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 60;

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Reports every function with its line count. */
const functionLengths: Deno.lint.Plugin = {
  name: "shape",
  rules: {
    "function-lines": {
      create(context) {
        const report = (node: Deno.lint.Node) => {
          const text = context.sourceCode.text;
          const [start, end] = node.range;
          const lines = lineOf(text, end) - lineOf(text, start) + 1;
          context.report({ node, message: String(lines) });
        };
        return {
          FunctionDeclaration: report,
          FunctionExpression: report,
          ArrowFunctionExpression: report,
        };
      },
    },
  },
};

function somaSources(): { path: string; text: string }[] {
  return [...Deno.readDirSync(SOMA)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts"))
    .map((entry) => join(SOMA, entry.name))
    .sort()
    .map((path) => ({ path, text: Deno.readTextFileSync(path) }));
}

Deno.test("every soma source file stays under 400 lines", () => {
  const sources = somaSources();
  const long = sources
    .map(({ path, text }) => ({ file: relative(ROOT, path), lines: text.split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_FILE_LINES);
  assertEquals(long, []);
  assertEquals(sources.length > 40, true, `only ${sources.length} files found under ${SOMA}`);
});

Deno.test("every function in soma fits a screen (60 lines)", () => {
  const long: string[] = [];
  let measured = 0;
  for (const { path, text } of somaSources()) {
    for (const diagnostic of Deno.lint.runPlugin(functionLengths, path, text)) {
      measured++;
      const lines = Number(diagnostic.message);
      if (lines > MAX_FUNCTION_LINES) {
        long.push(`${relative(ROOT, path)}:${lineOf(text, diagnostic.range[0])} (${lines} lines)`);
      }
    }
  }
  assertEquals(long, []);
  assertEquals(measured > 300, true, `only ${measured} functions measured`);
});

Deno.test("the function measure counts first to last line, for methods, arrows and nested functions", () => {
  const body = (n: number) => Array.from({ length: n - 2 }, (_, i) => `    const v${i} = ${i};`).join("\n");
  const source = [
    "class C {",
    "  method() {",
    body(61),
    "  }",
    "}",
    "export function outer() {",
    "  const inner = () => {",
    body(5),
    "  };",
    "  return inner;",
    "}",
  ].join("\n");
  const found = Deno.lint.runPlugin(functionLengths, "sample.ts", source)
    .map((d) => `${lineOf(source, d.range[0])}:${d.message}`);
  assertEquals(found.sort(), ["2:61", "64:8", "65:5"]);
});
