/**
 * `deno task new aggregate <Name>`: the proto messages (a command, its event, the state), the aggregate
 * (initialState, decide, evolve, result), its given/when/then test, and its registration in the composition root
 * (command role) and the message registry.
 *
 * @module
 */
import { ensureImport, ensureNamedImport, folderExists, insertAt } from "./edits.ts";
import type { Names } from "./names.ts";
import { generated, importPath, paths, type Project, refuseDeclared } from "./project.ts";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** The proto messages of the aggregate. */
export function aggregateMessages(n: Names) {
  return {
    command: `Record${n.pascal}Command`,
    event: `${n.pascal}RecordedEvent`,
    state: `${n.pascal}State`,
  };
}

function proto(project: Project, n: Names): string {
  const m = aggregateMessages(n);
  return `syntax = "proto3";

// The ${n.pascal} aggregate's command, event and state (scaffolded by \`deno task new\`). These are payloads on the
// command bus and in the event store: the payload type is the fully-qualified name, e.g.
// "${project.protoPackage}.${m.event}".
package ${project.protoPackage};

// Records a text on one ${n.words} (routed by ${n.snake}_id, the aggregate identifier).
message ${m.command} {
  string ${n.snake}_id = 1;
  string text = 2;
}

// A text was recorded.
message ${m.event} {
  string ${n.snake}_id = 1;
  string text = 2;
}

// The aggregate's state, also the command's result: how many texts it recorded.
message ${m.state} {
  int64 count = 1;
}
`;
}

function aggregate(project: Project, n: Names, file: string, gen: string): string {
  const m = aggregateMessages(n);
  const p = project.protoPackage;
  return `/**
 * The ${n.pascal} aggregate (scaffolded by \`deno task new\`): it records texts and counts them; an empty text is
 * refused with ${n.upper}_EMPTY_TEXT. Put your own rules in decide and evolve, and keep both pure.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { defineAggregate, DomainError } from "${importPath(file, "src/dendrite/mod.ts")}";
import * as domain from "${importPath(file, gen)}";

/** Domain error codes of ${n.pascal}. */
export const ${n.pascal}Errors = {
  /** The text was empty after trimming. */
  EMPTY_TEXT: "${n.upper}_EMPTY_TEXT",
} as const;

/** The ${n.pascal} aggregate. */
export const ${n.pascal} = defineAggregate({
  type: "${p}.${n.pascal}",
  commands: [domain.${m.command}Schema],
  events: [domain.${m.event}Schema],
  initialState: () => create(domain.${m.state}Schema, { count: 0n }),
  aggregateId: (command) => command.${n.camel}Id,

  decide(command, _state) {
    switch (command.$typeName) {
      case "${p}.${m.command}": {
        const text = command.text.trim();
        if (text === "") {
          return new DomainError(${n.pascal}Errors.EMPTY_TEXT, "The text is empty", { kind: "invalid-argument" });
        }
        return create(domain.${m.event}Schema, { ${n.camel}Id: command.${n.camel}Id, text });
      }
    }
  },

  evolve(state, event) {
    switch (event.$typeName) {
      case "${p}.${m.event}":
        return create(domain.${m.state}Schema, { count: state.count + 1n });
    }
  },

  // One entry per command: what it answers (here the state after it).
  results: {
    "${p}.${m.command}": (_command, state) => state,
  },
});
`;
}

function aggregateTest(n: Names, file: string, gen: string): string {
  const m = aggregateMessages(n);
  return `import { create } from "@bufbuild/protobuf";
import { aggregateSpec } from "${importPath(file, "src/dendrite/testing/mod.ts")}";
import * as domain from "${importPath(file, gen)}";
import { assertEquals } from "${importPath(file, "test/assert.ts")}";
import { ${n.pascal}, ${n.pascal}Errors } from "./aggregate.ts";

const record = (text: string) => create(domain.${m.command}Schema, { ${n.camel}Id: "one", text });
const recorded = (text: string) => create(domain.${m.event}Schema, { ${n.camel}Id: "one", text });

Deno.test("${n.pascal} records a text, trimmed", () => {
  const state = aggregateSpec(${n.pascal}).given().when(record("  Hello  ")).then(recorded("Hello"));
  assertEquals(state.count, 1n);
});

Deno.test("${n.pascal} refuses an empty text with ${n.upper}_EMPTY_TEXT", () => {
  aggregateSpec(${n.pascal}).given(recorded("First")).when(record("   ")).thenError(${n.pascal}Errors.EMPTY_TEXT);
});

Deno.test("${n.pascal} counts the recorded texts in its state", () => {
  assertEquals(aggregateSpec(${n.pascal}).given(recorded("a"), recorded("b")).state().count, 2n);
});
`;
}

/** Plans `new aggregate`. */
export function planAggregate(workspace: Workspace, project: Project, n: Names): void {
  const files = paths(project, n);
  if (workspace.exists(files.aggregate)) {
    throw new ScaffoldError(
      `The aggregate ${n.pascal} exists already (${files.aggregate}); nothing was written`,
    );
  }
  if (folderExists(workspace, files.feature)) {
    throw new ScaffoldError(
      `The folder ${files.feature} exists already; pick another name. Nothing was written`,
    );
  }
  const m = aggregateMessages(n);
  refuseDeclared(workspace, project, [m.command, m.event, m.state]);
  const gen = generated(project, files.domainProto);
  workspace.create(files.domainProto, proto(project, n));
  workspace.create(files.aggregate, aggregate(project, n, files.aggregate, gen.module));
  workspace.create(files.aggregateTest, aggregateTest(n, files.aggregateTest, gen.module));

  ensureImport(
    workspace,
    project.wiring,
    `import { ${gen.descriptor} } from "${importPath(project.wiring, gen.module)}";`,
  );
  ensureImport(
    workspace,
    project.wiring,
    `import { ${n.pascal} } from "${importPath(project.wiring, files.aggregate)}";`,
  );
  ensureNamedImport(workspace, project.wiring, "startAggregate", "./features.ts");
  insertAt(workspace, project.wiring, "registry", [`${gen.descriptor},`]);
  insertAt(workspace, project.wiring, "command", [`closers.push(await startAggregate(ports, ${n.pascal}));`]);
}
