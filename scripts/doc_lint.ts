/**
 * `deno doc --lint` over every entry point `deno.json` exports (one run, so types one entry point exports count
 * as public for the others). Fails on any finding except a reference to a type of an npm package the library's
 * signatures use on purpose: those types are the packages' own (documented there), and re-exporting them would
 * pull their internals into dendrite's surface. Prints the counts either way.
 *
 * Then `deno doc --json` over the same entry points: fails when an exported symbol has no `@example` in its JSDoc
 * (`deno check --doc` type-checks the examples), listing each one with its declaration.
 *
 * Usage: `deno run -A scripts/doc_lint.ts`
 *
 * @module
 */

/** Third-party types dendrite's public signatures use, by the package that documents them. */
const THIRD_PARTY_TYPES: Readonly<Record<string, string>> = {
  Message: "@bufbuild/protobuf",
  DescMessage: "@bufbuild/protobuf",
  MessageShape: "@bufbuild/protobuf",
  DescFile: "@bufbuild/protobuf",
  ContextKey: "@connectrpc/connect",
  Interceptor: "@connectrpc/connect",
  Client: "@elastic/elasticsearch",
  MappingTypeMapping: "@elastic/elasticsearch",
  Status: "@grpc/grpc-js",
  Meter: "@opentelemetry/api",
  Context: "@opentelemetry/api",
  SpanContext: "@opentelemetry/api",
};

const root = new URL("..", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};
const entries = Object.values(config.exports);
const output = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...entries],
  cwd: root,
  env: { NO_COLOR: "1" },
  stdout: "piped",
  stderr: "piped",
}).output();
const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);

const findings = [...text.matchAll(/^error\[([a-z-]+)\]: (.*)$/gm)].map(([, rule, message]) => ({
  rule,
  message,
}));
const allowed = findings.filter(({ rule, message }) => {
  const type = message.match(/references private type '(\w+)'/)?.[1];
  return rule === "private-type-ref" && type !== undefined && type in THIRD_PARTY_TYPES;
});
const failing = findings.filter((finding) => !allowed.includes(finding));

const byType = new Map<string, number>();
for (const { message } of allowed) {
  const type = message.match(/private type '(\w+)'/)![1];
  byType.set(type, (byType.get(type) ?? 0) + 1);
}
console.log(
  `deno doc --lint: ${entries.length} entry points, ${findings.length} findings: ${failing.length} failing, ` +
    `${allowed.length} references to npm types (${[...byType].map(([t, n]) => `${t} ${n}`).join(", ")})`,
);
if (!output.success && findings.length === 0) {
  console.error(text);
  Deno.exit(1);
}
if (failing.length > 0) {
  const blocks = text.split(/\n(?=error\[)/).filter((block) =>
    failing.some(({ message }) => block.includes(message)) && !block.startsWith("error: Found")
  );
  console.error(blocks.join("\n"));
}

const { symbols, missing } = await exampleCoverage(entries);
console.log(
  `@example: ${symbols - missing.length} of ${symbols} exported symbols have one, ${missing.length} missing`,
);
for (const symbol of missing) console.error(`missing @example: ${symbol}`);
if (failing.length > 0 || missing.length > 0) Deno.exit(1);

/** One exported symbol as `deno doc --json` describes it (the fields read here). */
interface DocSymbol {
  readonly name: string;
  readonly declarations: readonly {
    readonly kind: string;
    readonly location: { readonly filename: string; readonly line: number };
    readonly jsDoc?: { readonly tags?: readonly { readonly kind: string }[] };
  }[];
}

/**
 * The exported symbols of the entry points (each declaration once, also when several entry points export it) and
 * those without an `@example` on any of their declarations, as "kind name (file:line)".
 */
async function exampleCoverage(entries: readonly string[]): Promise<{ symbols: number; missing: string[] }> {
  const json = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!json.success) {
    console.error(new TextDecoder().decode(json.stderr));
    throw new Error(`"deno doc --json" failed with exit code ${json.code}`);
  }
  const doc = JSON.parse(new TextDecoder().decode(json.stdout)) as {
    nodes: Record<string, { symbols: DocSymbol[] }>;
  };
  const seen = new Map<string, boolean>();
  for (const { symbols } of Object.values(doc.nodes)) {
    for (const { name, declarations } of symbols) {
      const [first] = declarations;
      const where = `${first.kind} ${name} (${relativePath(first.location.filename)}:${first.location.line})`;
      const documented = declarations.some(({ jsDoc }) =>
        jsDoc?.tags?.some(({ kind }) => kind === "example")
      );
      seen.set(where, (seen.get(where) ?? false) || documented);
    }
  }
  const missing = [...seen].filter(([, documented]) => !documented).map(([where]) => where).sort();
  return { symbols: seen.size, missing };
}

function relativePath(fileUrl: string): string {
  return fileUrl.startsWith(root.href) ? fileUrl.slice(root.href.length) : fileUrl;
}
