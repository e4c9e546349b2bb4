/**
 * dendrite's public surface: the entry points `deno.json` exports, what each one loads, and what it exports.
 * The root (`./dendrite`) is runtime-free: importing `defineAggregate` must not load `node:sqlite`, gRPC or the
 * Elasticsearch client (Deno's own module graph, `deno info --json`, is the proof). Each entry point is a curated
 * list (`export { … }`, never `export *`), and the library's internal helpers stay unexported.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const ENTRY_POINTS: Readonly<Record<string, string>> = {
  "./dendrite": "./src/dendrite/mod.ts",
  "./dendrite/sqlite": "./src/dendrite/sqlite/mod.ts",
  "./dendrite/dcb": "./src/dendrite/dcb/mod.ts",
  "./dendrite/axon": "./src/dendrite/axon/mod.ts",
  "./dendrite/elasticsearch": "./src/dendrite/elasticsearch/mod.ts",
  "./dendrite/security": "./src/dendrite/security/mod.ts",
  "./dendrite/observability": "./src/dendrite/observability/mod.ts",
  "./dendrite/testing": "./src/dendrite/testing/mod.ts",
};

/** Helpers the library uses inside; callers import them from their files, never from an entry point. */
const INTERNAL = [
  "delay",
  "backoff",
  "scopedSignal",
  "KeyedMutex",
  "Notifier",
  "Channel",
  "readyBatches",
  "readyPages",
  "expectResult",
  "subscriptionResult",
  "responsesOf",
  "javaStringHash",
  "splitSegment",
  "mergeSegments",
  "computeSegment",
  "parseSearch",
  "checkFieldName",
  "streamPagesOf",
  "validateSequences",
  "abortReason",
  "describeError",
  "outageDelayMs",
  "sequenceIdOf",
  "compareHashes",
  "ruleFor",
  "signedBytes",
  "securityConnectError",
  "withTransientErrors",
  "asTransient",
  "toSearchQuery",
];

async function run(args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!output.success) throw new Error(`deno ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  return new TextDecoder().decode(output.stdout);
}

/** Every module the entry point loads that is not the project's own file (npm packages, node builtins). */
async function externalModules(entry: string): Promise<string[]> {
  const info = JSON.parse(await run(["info", "--config", "deno.json", "--json", entry])) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier).filter((s) => !s.startsWith("file:")).sort();
}

/** The names an entry point exports, as `deno doc` sees them. */
async function exportedNames(entry: string): Promise<string[]> {
  const doc = JSON.parse(await run(["doc", "--json", entry])) as {
    nodes: Record<string, { symbols?: { name: string }[] }>;
  };
  return Object.values(doc.nodes).flatMap((node) => (node.symbols ?? []).map((s) => s.name)).sort();
}

Deno.test("deno.json exports the root and one entry point per adapter family, each a mod.ts", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)) as {
    exports: Record<string, string>;
  };
  assertEquals(config.exports, ENTRY_POINTS);
  for (const path of Object.values(ENTRY_POINTS)) Deno.statSync(`${ROOT}/${path}`);
});

Deno.test("the root entry point loads no runtime adapter: no node:sqlite, gRPC, Connect, Elasticsearch or jose", async () => {
  const external = await externalModules("src/dendrite/mod.ts");
  const heavy = external.filter((s) =>
    s === "node:sqlite" || /@grpc|@connectrpc|@elastic|jose|node:http2|node:net|node:tls/.test(s)
  );
  assertEquals(heavy, []);
  // What it does load: protobuf (messages are protobuf), the OpenTelemetry API (the aggregate and processor
  // spans; a no-op unless OTEL_DENO=true) and small node builtins.
  assert(
    external.every((s) =>
      s.startsWith("npm:/@bufbuild/protobuf@") || s.startsWith("npm:/@opentelemetry/api@") ||
      s.startsWith("node:")
    ),
    `${external}`,
  );
});

Deno.test("importing defineAggregate alone, in a child process, loads no SQLite", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const program = `${dir}/uses_aggregate.ts`;
    const root = new URL("../../src/dendrite/mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      program,
      `import { defineAggregate } from "${root}";\nconsole.log(typeof defineAggregate);\n`,
    );
    const external = await externalModules(program);
    assert(!external.includes("node:sqlite"), `${external}`);
    assertEquals(
      (await run(["run", "--config", "deno.json", "--quiet", "--allow-read", program])).trim(),
      "function",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the DCB entry point is runtime-free too; the SQLite entry point is where node:sqlite comes in", async () => {
  const dcb = await externalModules("src/dendrite/dcb/mod.ts");
  assertEquals(dcb.filter((s) => s === "node:sqlite" || /@grpc|@elastic/.test(s)), []);
  assert((await externalModules("src/dendrite/sqlite/mod.ts")).includes("node:sqlite"));
});

Deno.test("every entry point is a curated list: no `export *`, no internal helper exported", async () => {
  for (const path of Object.values(ENTRY_POINTS)) {
    const text = Deno.readTextFileSync(`${ROOT}/${path}`);
    assert(!/^export \*/m.test(text), `${path} uses export *`);
    const leaked = (await exportedNames(path)).filter((name) => INTERNAL.includes(name));
    assertEquals(leaked, [], `${path} exports internal helpers`);
  }
});

Deno.test("deno doc --lint of the entry points: only npm types referenced, an @example on every export", async () => {
  const output = await run(["run", "-A", "scripts/doc_lint.ts"]);
  assert(output.includes(" 0 failing"), output);
  assert(output.includes(" 0 missing"), output);
});

Deno.test("the library's doc examples are all type-checked: none is `ts ignore`", () => {
  const ignored: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${ROOT}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (path.endsWith(".ts") && /```ts ignore/.test(Deno.readTextFileSync(`${ROOT}/${path}`))) {
        ignored.push(path);
      }
    }
  };
  walk("src/dendrite");
  walk("src/gen/dendrite");
  assertEquals(ignored, []);
});
