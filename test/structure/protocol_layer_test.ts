/**
 * One Axon protocol layer: soma and the connector share the wire mapping in `src/dendrite/axon/protocol/`, soma
 * imports nothing else of the connector, messages are built with `create()`, each mapping is defined once, and
 * no exported function, class or value of the library, soma or the server is left that nothing but its own unit
 * test uses.
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out;
}

const isTest = (path: string) => path.startsWith("test/") || path.endsWith("_test.ts");
const program = sourceFiles("src").filter((path) => !path.startsWith("src/gen/") && !isTest(path));
const read = (path: string) => Deno.readTextFileSync(join(ROOT, path));
/** The code of a file without its comments (so a name in a doc comment is not a use). */
const code = (path: string) => read(path).replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");

Deno.test("soma imports the shared protocol layer, not the connector's modules", () => {
  const offending: string[] = [];
  for (const path of program.filter((p) => p.startsWith("src/soma/"))) {
    for (const [, specifier] of read(path).matchAll(/from "([^"]+)"/g)) {
      const target = relative(ROOT, join(ROOT, path, "..", specifier));
      if (target.startsWith("src/dendrite/axon/") && !target.startsWith("src/dendrite/axon/protocol/")) {
        offending.push(`${path} → ${target}`);
      }
    }
    if (/export \{[^}]*\bas\b[^}]*\} from/.test(read(path))) {
      offending.push(`${path} re-exports under other names`);
    }
  }
  assertEquals(offending, []);
});

Deno.test("protocol messages are built with create(), not hand-written $typeName literals", () => {
  const literals = program.filter((path) => /\$typeName:\s*"/.test(code(path)));
  assertEquals(literals, []);
});

Deno.test("each wire mapping is defined once: nothing outside the protocol layer redefines one of its functions", () => {
  const layer = program.filter((path) => path.startsWith("src/dendrite/axon/protocol/"));
  const mappings = new Set(
    layer.flatMap((path) => [...code(path).matchAll(/^export function\s+(\w+)/gm)].map((m) => m[1])),
  );
  const again: string[] = [];
  for (const path of program.filter((p) => !layer.includes(p))) {
    for (const [, name] of code(path).matchAll(/^(?:export )?(?:async )?function\s+(\w+)/gm)) {
      if (mappings.has(name)) again.push(`${path}: ${name}`);
    }
  }
  assertEquals(again, []);
});

Deno.test("no exported function, class or value of dendrite, soma or the server is dead: only its unit test uses it", () => {
  const everything = [...program, ...sourceFiles("scripts"), ...sourceFiles("web"), ...sourceFiles("test")]
    .concat(sourceFiles("src").filter(isTest));
  const uses = new Map<string, Set<string>>();
  for (const path of everything) {
    for (const word of new Set(code(path).match(/[A-Za-z_$][\w$]*/g) ?? [])) {
      uses.set(word, (uses.get(word) ?? new Set()).add(path));
    }
  }
  const dead: string[] = [];
  for (const path of program.filter((p) => /^src\/(dendrite|soma|server)\//.test(p))) {
    const text = code(path);
    const ownTest = path.replace(/\.tsx?$/, "_test.ts");
    const declared = text.matchAll(
      /^export (?:async )?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)/gm,
    );
    for (const [, name] of declared) {
      const elsewhere = [...uses.get(name) ?? []].some((user) => user !== path && user !== ownTest);
      const ownUses = text.match(new RegExp(`(?<![\\w$])${name.replace("$", "\\$")}(?![\\w$])`, "g"))!.length;
      if (!elsewhere && ownUses === 1) dead.push(`${path}: ${name}`);
    }
  }
  assertEquals(dead, []);
});
