/**
 * `deno task new rpc <Name>`: a `<Name>Service` with two methods, one sending the aggregate's command and one
 * asking the query, its implementation on the buses, its test over a real Connect router, its route in the API
 * role and its access-policy entries (listing is public, recording needs a signed-in caller). Needs the
 * aggregate and the query of the same name.
 *
 * @module
 */
import { aggregateMessages } from "./aggregate.ts";
import { ensureImport, insertAt } from "./edits.ts";
import type { Names } from "./names.ts";
import { generated, importPath, paths, type Project, refuseDeclared } from "./project.ts";
import { queryMessages } from "./query.ts";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** The service and its methods. */
export function rpcNames(n: Names) {
  return {
    service: `${n.pascal}Service`,
    record: `Record${n.pascal}`,
    list: `List${n.pluralPascal}`,
  };
}

function proto(project: Project, n: Names, queryProto: string): string {
  const r = rpcNames(n);
  const q = queryMessages(n);
  return `syntax = "proto3";

// The ${n.pascal} API (scaffolded by \`deno task new\`): what browsers, gRPC clients and curl call.
package ${project.protoPackage};

import "${queryProto.slice("proto/".length)}";

// ${r.service} records texts and lists them.
service ${r.service} {
  // ${r.record} records a text on one ${n.words} (a signed-in caller; an empty text is INVALID_ARGUMENT).
  rpc ${r.record}(${r.record}Request) returns (${r.record}Response);
  // ${r.list} lists the recorded texts, newest first, or those matching a full-text query (public).
  rpc ${r.list}(${r.list}Request) returns (${r.list}Response);
}

message ${r.record}Request {
  string ${n.snake}_id = 1;
  string text = 2;
}

message ${r.record}Response {
  // How many texts that ${n.words} has recorded.
  int64 count = 1;
}

message ${r.list}Request {
  string query = 1;
  int32 limit = 2;
}

message ${r.list}Response {
  repeated ${q.entry} entries = 1;
}
`;
}

function service(project: Project, n: Names, file: string, gens: Gens, aggregate: string): string {
  return `${serviceHead(project, n, file, gens, aggregate)}\n${serviceImpl(n)}`;
}

/** The service module's doc, imports, options and call metadata. */
function serviceHead(project: Project, n: Names, file: string, gens: Gens, aggregate: string): string {
  const r = rpcNames(n);
  return `/**
 * \`${project.protoPackage}.${r.service}\` on the buses (scaffolded by \`deno task new\`): ${r.record} sends the
 * ${n.pascal} aggregate's command, ${r.list} asks the query. The caller's subject and roles travel as metadata;
 * access control is the auth interceptor's job (the policy's entries) and errors are mapped by the API's error
 * interceptor.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type CommandBus,
  type Metadata,
  MetadataKeys,
  type QueryBus,
  queryOne,
  sendToAggregate,
} from "${importPath(file, "src/dendrite/mod.ts")}";
import { claimsKey, metadataFromClaims } from "${importPath(file, "src/dendrite/security/mod.ts")}";
import * as domain from "${importPath(file, gens.domain)}";
import * as query from "${importPath(file, gens.query)}";
import type { ${r.service} } from "${importPath(file, gens.service)}";
import { ${n.pascal} } from "${importPath(file, aggregate)}";

/** What the service needs. */
export interface ${r.service}Options {
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  /** Aborts when the server shuts down: calls still waiting for the buses end. */
  readonly shutdown?: AbortSignal;
}

function callMetadata(context: HandlerContext): Metadata {
  return metadataFromClaims(context.values.get(claimsKey), { [MetadataKeys.correlationId]: crypto.randomUUID() });
}
`;
}

/** The service's implementation on the buses. */
function serviceImpl(n: Names): string {
  const r = rpcNames(n);
  const a = aggregateMessages(n);
  const q = queryMessages(n);
  return `/** Implements ${r.service} on the buses. */
export function ${n.camel}Service(options: ${r.service}Options): ServiceImpl<typeof ${r.service}> {
  return {
    async ${r.record.charAt(0).toLowerCase() + r.record.slice(1)}(request, context) {
      if (request.${n.camel}Id === "") throw new ConnectError("${n.snake}_id is required", Code.InvalidArgument);
      const state = await sendToAggregate(
        options.commandBus,
        ${n.pascal},
        create(domain.${a.command}Schema, { ${n.camel}Id: request.${n.camel}Id, text: request.text }),
        {
          expect: domain.${a.state}Schema,
          metadata: callMetadata(context),
          signal: options.shutdown ? AbortSignal.any([context.signal, options.shutdown]) : context.signal,
          timeoutMs: context.timeoutMs(),
        },
      );
      if (!state) throw new ConnectError("The command answered nothing", Code.Internal);
      return { count: state.count };
    },

    async ${r.list.charAt(0).toLowerCase() + r.list.slice(1)}(request, context) {
      const list = await queryOne(
        options.queryBus,
        create(query.${q.query}Schema, { query: request.query, limit: request.limit }),
        query.${q.list}Schema,
        {
          metadata: callMetadata(context),
          signal: options.shutdown ? AbortSignal.any([context.signal, options.shutdown]) : context.signal,
          timeoutMs: context.timeoutMs(),
        },
      );
      return { entries: list.entries };
    },
  };
}
`;
}

interface Gens {
  readonly domain: string;
  readonly query: string;
  readonly service: string;
  readonly domainDescriptor: string;
  readonly queryDescriptor: string;
}

function serviceTest(n: Names, file: string, gens: Gens, feature: string): string {
  return `${serviceTestSetup(n, file, gens, feature)}\n${serviceTestCases(n)}`;
}

/** The test's imports and its given: the service on in-memory ports behind a Connect router. */
function serviceTestSetup(n: Names, file: string, gens: Gens, feature: string): string {
  const r = rpcNames(n);
  const features = importPath(file, "src/example/features.ts");
  return `import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  InMemoryDeadLetterQueue,
  InMemoryDocumentStore,
  InMemoryEventStore,
  InMemoryTokenStore,
  LocalCommandBus,
  LocalQueryBus,
  MessageRegistry,
} from "${importPath(file, "src/dendrite/mod.ts")}";
import { ${gens.domainDescriptor} } from "${importPath(file, gens.domain)}";
import { ${gens.queryDescriptor} } from "${importPath(file, gens.query)}";
import { ${r.service} } from "${importPath(file, gens.service)}";
import { silentLogger } from "${importPath(file, "src/server/log.ts")}";
import { assertEquals, eventually } from "${importPath(file, "test/assert.ts")}";
import { startAggregate, startProjection, startQueries } from "${features}";
import { ${n.pascal} } from "${importPath(file, `${feature}/aggregate.ts`)}";
import { ${n.camel}Model, ${n.camel}Projection } from "${importPath(file, `${feature}/projection.ts`)}";
import { register${n.pascal}Queries } from "${importPath(file, `${feature}/queries.ts`)}";
import { errorMappingInterceptor } from "./errors.ts";
import { ${n.camel}Service } from "./${n.snake}_service.ts";

/** The service on in-memory ports, its aggregate, projection and query running, behind a Connect router. */
async function given${n.pascal}Service() {
  const registry = new MessageRegistry().addFiles(${gens.domainDescriptor}, ${gens.queryDescriptor});
  const commandBus = new LocalCommandBus();
  const queryBus = new LocalQueryBus();
  const eventStore = new InMemoryEventStore();
  const documentStore = new InMemoryDocumentStore();
  const stops = [
    await startAggregate({ commandBus, eventStore, registry }, ${n.pascal}),
    await startQueries(() => register${n.pascal}Queries(queryBus, documentStore)),
    await startProjection(
      { eventStore, registry, tokenStore: new InMemoryTokenStore() },
      ${n.camel}Projection(${n.camel}Model(documentStore)),
      { deadLetters: new InMemoryDeadLetterQueue() },
    ),
  ];
  const transport = createRouterTransport((router) =>
    router.service(${r.service}, ${n.camel}Service({ commandBus, queryBus }), {
      interceptors: [errorMappingInterceptor(silentLogger)],
    })
  );
  return {
    client: createClient(${r.service}, transport),
    stop: () => Promise.all(stops.map((stop) => stop())),
  };
}
`;
}

/** The test cases: a record counts and shows once projected; bad input is INVALID_ARGUMENT. */
function serviceTestCases(n: Names): string {
  const r = rpcNames(n);
  const lower = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
  const listMethod = lower(r.list);
  return `Deno.test("${r.service}: ${r.record} counts, and ${r.list} shows the text once projected", async () => {
  const { client, stop } = await given${n.pascal}Service();
  try {
    assertEquals((await client.${lower(r.record)}({ ${n.camel}Id: "one", text: "Hello" })).count, 1n);
    assertEquals((await client.${lower(r.record)}({ ${n.camel}Id: "one", text: "Bye" })).count, 2n);
    const texts = async () => (await client.${listMethod}({})).entries.map((entry) => entry.text);
    await eventually(async () => (await texts()).length === 2, 10_000, "both texts projected");
    assertEquals(await texts(), ["Bye", "Hello"]);
  } finally {
    await stop();
  }
});

Deno.test("${r.service}: ${r.record} refuses an empty text or a missing id with INVALID_ARGUMENT", async () => {
  const { client, stop } = await given${n.pascal}Service();
  try {
    for (const request of [{ ${n.camel}Id: "one", text: "  " }, { ${n.camel}Id: "", text: "Hello" }]) {
      const error = await client.${lower(r.record)}(request).then(() => undefined, (error) => error);
      assertEquals(error instanceof ConnectError && error.code, Code.InvalidArgument, String(error));
    }
  } finally {
    await stop();
  }
});
`;
}

/** Plans \`new rpc\`. */
export function planRpc(workspace: Workspace, project: Project, n: Names): void {
  const files = paths(project, n);
  if (workspace.exists(files.service)) {
    throw new ScaffoldError(
      `The RPC service of ${n.pascal} exists already (${files.service}); nothing was written`,
    );
  }
  for (
    const [what, needed, kind] of [
      ["aggregate", files.aggregate, "aggregate"],
      ["query", files.queries, "query"],
    ] as const
  ) {
    if (!workspace.exists(needed)) {
      throw new ScaffoldError(
        `The RPCs of ${n.pascal} need its ${what} (${needed}), which does not exist: run ` +
          `\`deno task new ${kind} ${n.pascal}\`, or \`deno task new feature ${n.pascal}\` for all four kinds`,
      );
    }
  }
  const r = rpcNames(n);
  refuseDeclared(workspace, project, [
    r.service,
    ...[r.record, r.list].flatMap((method) => [`${method}Request`, `${method}Response`]),
  ]);
  const domain = generated(project, files.domainProto);
  const query = generated(project, files.queryProto);
  const gens: Gens = {
    domain: domain.module,
    query: query.module,
    service: generated(project, files.serviceProto).module,
    domainDescriptor: domain.descriptor,
    queryDescriptor: query.descriptor,
  };
  workspace.create(files.serviceProto, proto(project, n, files.queryProto));
  workspace.create(files.service, service(project, n, files.service, gens, files.aggregate));
  workspace.create(files.serviceTest, serviceTest(n, files.serviceTest, gens, files.feature));

  const api = project.apiRole;
  ensureImport(workspace, api, `import { ${r.service} } from "${importPath(api, gens.service)}";`);
  ensureImport(workspace, api, `import { ${n.camel}Service } from "${importPath(api, files.service)}";`);
  insertAt(workspace, api, "services", [
    `router.service(${r.service}, ${n.camel}Service({ ...ports, shutdown: context.shutdown }), { interceptors });`,
  ]);
  const method = (name: string) => `"${project.protoPackage}.${r.service}/${name}"`;
  insertAt(workspace, project.policy, "public", [`${method(r.list)},`]);
  insertAt(workspace, project.policy, "roles", [`${method(r.record)}: [], // any signed-in caller`]);
}
