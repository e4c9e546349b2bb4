/**
 * Functions fit a screen (issue #21, the developer guide): no function, method or arrow function of the program's
 * server, configuration, example application, entry point and scripts is longer than {@link MAX_LINES} lines, and
 * no such file is longer than {@link MAX_FILE_LINES}. Functions are found by Deno's own parser (a lint plugin run
 * in-process), so braces inside the scaffold's template strings do not confuse the count.
 */
/// <reference lib="deno.unstable" />
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A screen. */
const MAX_LINES = 60;
/** One concept per file. */
const MAX_FILE_LINES = 400;

/** The folders and files this guard covers. */
const COVERED = ["src/server", "src/config.ts", "src/config", "src/example", "src/main.ts", "scripts"];

function sourceFiles(path: string): string[] {
  const info = Deno.statSync(join(ROOT, path));
  if (info.isFile) return [path];
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, path))) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) out.push(...sourceFiles(child));
    else if (/\.tsx?$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name)) out.push(child);
  }
  return out;
}

const lineCount = (text: string) => text.split("\n").length;

type FunctionNode =
  | Deno.lint.FunctionDeclaration
  | Deno.lint.FunctionExpression
  | Deno.lint.ArrowFunctionExpression;

/** Reports every function node longer than `max` lines, named where the parser tells a name. */
function longFunctions(max: number): Deno.lint.Plugin {
  return {
    name: "screen",
    rules: {
      "function-length": {
        create(context) {
          const check = (node: FunctionNode) => {
            const [start, end] = node.range;
            const lines = lineCount(context.sourceCode.text.slice(start, end));
            if (lines > max) context.report({ node, message: `${nameOf(node)}: ${lines} lines` });
          };
          return { FunctionDeclaration: check, FunctionExpression: check, ArrowFunctionExpression: check };
        },
      },
    },
  };
}

function nameOf(node: FunctionNode): string {
  if (node.type === "FunctionDeclaration" && node.id) return node.id.name;
  const parent = node.parent;
  if (parent?.type === "MethodDefinition" || parent?.type === "Property") {
    const key = parent.key;
    if (key.type === "Identifier") return key.name;
    if (key.type === "PrivateIdentifier") return `#${key.name}`;
  }
  if (parent?.type === "VariableDeclarator" && parent.id.type === "Identifier") return parent.id.name;
  return "(anonymous)";
}

Deno.test("functions of the server, config, example and scripts fit a screen; files stay one concept", () => {
  const plugin = longFunctions(MAX_LINES);
  const files = COVERED.flatMap(sourceFiles).sort();
  const tooLong: string[] = [];
  for (const path of files) {
    const text = Deno.readTextFileSync(join(ROOT, path));
    if (lineCount(text) > MAX_FILE_LINES) tooLong.push(`${path}: the file has ${lineCount(text)} lines`);
    for (const finding of Deno.lint.runPlugin(plugin, path, text)) {
      const line = lineCount(text.slice(0, finding.range[0]));
      tooLong.push(`${path}:${line} ${finding.message}`);
    }
  }
  assertEquals(tooLong, [], `over ${MAX_LINES} lines a function or ${MAX_FILE_LINES} a file`);
});

Deno.test("the function-length guard sees functions, methods and arrow functions, and names them", () => {
  const body = (n: number) =>
    Array.from({ length: n }, (_, i) => `  x(${i}); // { not a brace that counts`).join("\n");
  const text = [
    `function long() {\n${body(5)}\n}`,
    `function short() {\n${body(1)}\n}`,
    `class C {\n  #method() {\n${body(5)}\n  }\n}`,
    `const arrow = () => {\n${body(5)}\n};`,
    `const template = \`\${(() => {\n${body(5)}\n})()}\`;`,
  ].join("\n");
  const findings = Deno.lint.runPlugin(longFunctions(4), "sample.ts", text).map((finding) => finding.message);
  assertEquals(findings, ["long: 7 lines", "#method: 7 lines", "arrow: 7 lines", "(anonymous): 7 lines"]);
});
