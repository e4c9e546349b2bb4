/**
 * `deno task new query <Name>`: the query and result messages, the query handler reading the projection's
 * collection (newest first, or a full-text search), its test, and its registration in the composition root
 * (projection role) and the message registry. Needs the projection of the same name.
 *
 * @module
 */
import { ensureImport, ensureNamedImport, insertAt } from "./edits.ts";
import type { Names } from "./names.ts";
import { generated, importPath, paths, type Project, refuseDeclared } from "./project.ts";
import { aggregateMessages } from "./aggregate.ts";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** The proto messages of the query. */
export function queryMessages(n: Names) {
  return { query: `${n.pascal}ListQuery`, entry: `${n.pascal}Entry`, list: `${n.pascal}List` };
}

function proto(project: Project, n: Names): string {
  const m = queryMessages(n);
  return `syntax = "proto3";

// The ${n.pascal} query and its result (scaffolded by \`deno task new\`), answered from the query model.
package ${project.protoPackage};

// The recorded texts, newest first, or those matching a full-text query (best match first).
message ${m.query} {
  // Full-text query (words, "phrases", prefix*; see docs/query-side.md); empty: the newest texts.
  string query = 1;
  // At most this many entries; 0 means 100.
  int32 limit = 2;
}

// One recorded text.
message ${m.entry} {
  // The id of the event that recorded it.
  string id = 1;
  string ${n.snake}_id = 2;
  string text = 3;
  // When it was recorded, epoch milliseconds.
  int64 recorded_at = 4;
}

message ${m.list} {
  repeated ${m.entry} entries = 1;
}
`;
}

function queries(n: Names, file: string, gen: string): string {
  const m = queryMessages(n);
  const dendrite = importPath(file, "src/dendrite/mod.ts");
  return `/**
 * The ${n.pascal} query handlers (scaffolded by \`deno task new\`), answered from the ${n.pascal} query model.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import type { DocumentStore, QueryBus, Registration } from "${dendrite}";
import * as query from "${importPath(file, gen)}";
import { ${n.camel}Model } from "./projection.ts";

/** The most entries one answer carries. */
export const MAX_${n.upper}_ENTRIES = 1_000;

/** Subscribes the ${n.pascal} query handlers on the query bus, reading the model in \`store\`. */
export async function register${n.pascal}Queries(queryBus: QueryBus, store: DocumentStore): Promise<Registration[]> {
  const model = ${n.camel}Model(store);
  return [
    await queryBus.subscribe(query.${m.query}Schema, async ({ payload }) => {
      const limit = Math.min(payload.limit > 0 ? payload.limit : 100, MAX_${n.upper}_ENTRIES);
      const found = payload.query.trim() === ""
        ? await model.${n.camel}Texts.list({ orderBy: "recordedAt", descending: true, limit })
        : await model.${n.camel}Texts.search(payload.query, { limit });
      return create(query.${m.list}Schema, {
        entries: found.map(({ id, document }) =>
          create(query.${m.entry}Schema, {
            id,
            ${n.camel}Id: document.${n.camel}Id,
            text: document.text,
            recordedAt: BigInt(document.recordedAt),
          })
        ),
      });
    }),
  ];
}
`;
}

function queriesTest(project: Project, n: Names, file: string, domainGen: string, gen: string): string {
  const m = queryMessages(n);
  const a = aggregateMessages(n);
  return `import { create } from "@bufbuild/protobuf";
import { InMemoryDocumentStore, LocalQueryBus, queryOne } from "${importPath(file, "src/dendrite/mod.ts")}";
import { projectionSpec, storedEvent } from "${importPath(file, "src/dendrite/testing/mod.ts")}";
import * as domain from "${importPath(file, domainGen)}";
import * as query from "${importPath(file, gen)}";
import { assertEquals } from "${importPath(file, "test/assert.ts")}";
import { ${n.camel}Model, ${n.camel}Projection } from "./projection.ts";
import { register${n.pascal}Queries } from "./queries.ts";

const recorded = (text: string, token: number) =>
  storedEvent(create(domain.${a.event}Schema, { ${n.camel}Id: "one", text }), token, {
    type: "${project.protoPackage}.${n.pascal}",
    id: "one",
    sequence: token,
  });

Deno.test("${m.query} answers the newest texts first, or the ones a search matches", async () => {
  const store = new InMemoryDocumentStore();
  const bus = new LocalQueryBus();
  await register${n.pascal}Queries(bus, store);
  await projectionSpec(${n.camel}Projection(${n.camel}Model(store)))
    .given(recorded("Hello world", 0), recorded("Good night", 1))
    .then(async () => {
      const ask = (text: string) =>
        queryOne(bus, create(query.${m.query}Schema, { query: text }), query.${m.list}Schema);
      assertEquals((await ask("")).entries.map((entry) => entry.text), ["Good night", "Hello world"]);
      assertEquals((await ask("hello")).entries.map((entry) => entry.text), ["Hello world"]);
    });
});
`;
}

/** Plans `new query`. */
export function planQuery(workspace: Workspace, project: Project, n: Names): void {
  const files = paths(project, n);
  if (workspace.exists(files.queries)) {
    throw new ScaffoldError(`The query ${n.pascal} exists already (${files.queries}); nothing was written`);
  }
  if (!workspace.exists(files.projection)) {
    throw new ScaffoldError(
      `A query of ${n.pascal} reads its projection, which does not exist (${files.projection}): run ` +
        `\`deno task new projection ${n.pascal}\`, or \`deno task new feature ${n.pascal}\` for all four kinds`,
    );
  }
  const m = queryMessages(n);
  refuseDeclared(workspace, project, [m.query, m.entry, m.list]);
  const gen = generated(project, files.queryProto);
  const domainGen = generated(project, files.domainProto).module;
  workspace.create(files.queryProto, proto(project, n));
  workspace.create(files.queries, queries(n, files.queries, gen.module));
  workspace.create(files.queriesTest, queriesTest(project, n, files.queriesTest, domainGen, gen.module));

  const wiring = project.wiring;
  ensureImport(workspace, wiring, `import { ${gen.descriptor} } from "${importPath(wiring, gen.module)}";`);
  ensureImport(
    workspace,
    wiring,
    `import { register${n.pascal}Queries } from "${importPath(wiring, files.queries)}";`,
  );
  ensureNamedImport(workspace, wiring, "startQueries", "./features.ts");
  insertAt(workspace, wiring, "registry", [`${gen.descriptor},`]);
  insertAt(workspace, wiring, "queries", [
    `closers.push(await startQueries(() => register${n.pascal}Queries(ports.queryBus, queryPorts.documentStore)));`,
  ]);
}
