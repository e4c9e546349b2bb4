/**
 * `deno task new projection <Name>`: a projection of the aggregate's events into a document collection (its query
 * model), its given/then test, and its tracking processor in the composition root (projection role), which lists
 * it on the dashboard. Needs the aggregate of the same name.
 *
 * @module
 */
import { aggregateMessages } from "./aggregate.ts";
import { ensureImport, ensureNamedImport, insertAt } from "./edits.ts";
import type { Names } from "./names.ts";
import { generated, importPath, paths, type Project } from "./project.ts";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** The processor name of the projection (what the dashboard shows). */
export function processorName(project: Project, n: Names): string {
  return `${project.protoName}.${n.kebab}-projection`;
}

function projection(project: Project, n: Names, file: string, gen: string): string {
  const m = aggregateMessages(n);
  return `/**
 * The ${n.pascal} query model (scaffolded by \`deno task new\`): every recorded text as a document, keyed by its
 * event id, so a replayed or redelivered event overwrites itself (idempotent).
 *
 * @module
 */
import {
  type Collection,
  defineProjection,
  type DocumentStore,
  type Projection,
} from "${importPath(file, "src/dendrite/mod.ts")}";
import * as domain from "${importPath(file, gen)}";

/** A recorded text as the query model keeps it. */
export type ${n.pascal}Document = {
  readonly ${n.camel}Id: string;
  readonly text: string;
  /** Epoch milliseconds. */
  readonly recordedAt: number;
};

/** The query model's collections. */
export interface ${n.pascal}Model {
  readonly ${n.camel}Texts: Collection<${n.pascal}Document>;
}

/** Opens the ${n.pascal} collections in a document store. */
export function ${n.camel}Model(store: DocumentStore): ${n.pascal}Model {
  return { ${n.camel}Texts: store.collection<${n.pascal}Document>("${n.pluralSnake}", { textFields: ["text"] }) };
}

/** The processor name of the projection (the dashboard lists it under this name). */
export const ${n.upper}_PROJECTION = "${processorName(project, n)}";

/** The ${n.pascal} projection. */
export function ${n.camel}Projection(model: ${n.pascal}Model): Projection {
  return defineProjection({
    name: ${n.upper}_PROJECTION,
    events: [domain.${m.event}Schema],
    async handle(event) {
      const { ${n.camel}Id, text } = event.payload;
      await model.${n.camel}Texts.put(event.id, { ${n.camel}Id, text, recordedAt: event.timestamp });
    },
    async reset() {
      await model.${n.camel}Texts.clear();
    },
  });
}
`;
}

function projectionTest(project: Project, n: Names, file: string, gen: string): string {
  const m = aggregateMessages(n);
  return `import { create } from "@bufbuild/protobuf";
import { InMemoryDocumentStore } from "${importPath(file, "src/dendrite/mod.ts")}";
import { projectionSpec, storedEvent } from "${importPath(file, "src/dendrite/testing/mod.ts")}";
import * as domain from "${importPath(file, gen)}";
import { assertEquals } from "${importPath(file, "test/assert.ts")}";
import { ${n.camel}Model, ${n.camel}Projection } from "./projection.ts";

const recorded = (text: string, token: number) =>
  storedEvent(create(domain.${m.event}Schema, { ${n.camel}Id: "one", text }), token, {
    type: "${project.protoPackage}.${n.pascal}",
    id: "one",
    sequence: token,
  });

Deno.test("${n.pascal} projection keeps every recorded text", async () => {
  const model = ${n.camel}Model(new InMemoryDocumentStore());
  await projectionSpec(${n.camel}Projection(model)).given(recorded("Hello", 0), recorded("Bye", 1)).then(
    async (events) => {
      assertEquals(await model.${n.camel}Texts.count(), 2);
      assertEquals((await model.${n.camel}Texts.get(events[1].id))?.text, "Bye");
    },
  );
});

Deno.test("${n.pascal} projection is idempotent when an event is delivered twice", async () => {
  const model = ${n.camel}Model(new InMemoryDocumentStore());
  const event = recorded("Once", 0);
  await projectionSpec(${n.camel}Projection(model)).given(event, event).then(async () => {
    assertEquals(await model.${n.camel}Texts.count(), 1);
  });
});
`;
}

/** Plans `new projection`. */
export function planProjection(workspace: Workspace, project: Project, n: Names): void {
  const files = paths(project, n);
  if (workspace.exists(files.projection)) {
    throw new ScaffoldError(
      `The projection ${n.pascal} exists already (${files.projection}); nothing was written`,
    );
  }
  if (!workspace.exists(files.aggregate)) {
    throw new ScaffoldError(
      `A projection of ${n.pascal} needs its aggregate first (${files.aggregate}): run ` +
        `\`deno task new aggregate ${n.pascal}\`, or \`deno task new feature ${n.pascal}\` for all four kinds`,
    );
  }
  const gen = generated(project, files.domainProto).module;
  workspace.create(files.projection, projection(project, n, files.projection, gen));
  workspace.create(files.projectionTest, projectionTest(project, n, files.projectionTest, gen));

  const from = importPath(project.wiring, files.projection);
  ensureImport(workspace, project.wiring, `import { ${n.camel}Model, ${n.camel}Projection } from "${from}";`);
  ensureNamedImport(workspace, project.wiring, "startProjection", "./features.ts");
  insertAt(workspace, project.wiring, "projection", [
    `closers.push(`,
    `  await startProjection(queryPorts, ${n.camel}Projection(${n.camel}Model(queryPorts.documentStore)), processing),`,
    `);`,
  ]);
}
