/**
 * Where things live in this repository, as the scaffolder sees it: the application's proto package (the one
 * folder under `proto/` besides dendrite's own and the test protos), the generated code, the application
 * folder and the files that hold the insertion anchors.
 *
 * @module
 */
import { join } from "node:path";
import type { Names } from "./names.ts";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** Folders under `proto/` that are not the application's. */
const NOT_THE_APP = new Set(["dendrite", "test"]);

/** The application's layout. */
export interface Project {
  /** The proto package's first segment, e.g. `example` (package `example.v1`). */
  readonly protoName: string;
  /** `example.v1`. */
  readonly protoPackage: string;
  /** `proto/example/v1`. */
  readonly protoDir: string;
  /** `src/gen/example/v1`. */
  readonly genDir: string;
  /** The application's code: `src/example`. */
  readonly appDir: string;
  /** The composition root: `src/example/wiring.ts`. */
  readonly wiring: string;
  /** The API role, where services are routed: `src/example/api_role.ts`. */
  readonly apiRole: string;
  /** The access policy: `src/example/security/policy.ts`. */
  readonly policy: string;
}

/** Reads the layout; a clear error when the proto package cannot be told. */
export function readProject(workspace: Workspace, protoName?: string): Project {
  let name = protoName;
  if (name === undefined) {
    const found = [...Deno.readDirSync(join(workspace.root, "proto"))]
      .filter((entry) => entry.isDirectory && !NOT_THE_APP.has(entry.name))
      .map((entry) => entry.name);
    if (found.length !== 1) {
      throw new ScaffoldError(
        `Cannot tell the application's proto package: proto/ holds ${
          found.length === 0 ? "none" : found.map((f) => `"${f}"`).join(", ")
        } besides dendrite and test`,
      );
    }
    name = found[0];
  }
  const appDir = "src/example";
  return {
    protoName: name,
    protoPackage: `${name}.v1`,
    protoDir: `proto/${name}/v1`,
    genDir: `src/gen/${name}/v1`,
    appDir,
    wiring: `${appDir}/wiring.ts`,
    apiRole: `${appDir}/api_role.ts`,
    policy: `${appDir}/security/policy.ts`,
  };
}

/** The files each kind writes for a name. */
export function paths(project: Project, n: Names) {
  const feature = `${project.appDir}/${n.snake}`;
  return {
    feature,
    domainProto: `${project.protoDir}/${n.snake}.proto`,
    queryProto: `${project.protoDir}/${n.snake}_query.proto`,
    serviceProto: `${project.protoDir}/${n.snake}_service.proto`,
    aggregate: `${feature}/aggregate.ts`,
    aggregateTest: `${feature}/aggregate_test.ts`,
    projection: `${feature}/projection.ts`,
    projectionTest: `${feature}/projection_test.ts`,
    queries: `${feature}/queries.ts`,
    queriesTest: `${feature}/queries_test.ts`,
    service: `${project.appDir}/api/${n.snake}_service.ts`,
    serviceTest: `${project.appDir}/api/${n.snake}_service_test.ts`,
  };
}

/** The message and service names declared in the application's proto files (after the planned changes). */
export function declaredProtoNames(workspace: Workspace, project: Project): Map<string, string> {
  const declared = new Map<string, string>();
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(join(workspace.root, project.protoDir))];
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const entry of entries) {
    const path = `${project.protoDir}/${entry.name}`;
    if (!entry.name.endsWith(".proto") || !workspace.exists(path)) continue;
    for (const [, name] of workspace.read(path).matchAll(/^\s*(?:message|service|enum)\s+(\w+)/gm)) {
      declared.set(name, path);
    }
  }
  return declared;
}

/** Refuses names that a proto file of the package already declares. */
export function refuseDeclared(workspace: Workspace, project: Project, wanted: readonly string[]): void {
  const declared = declaredProtoNames(workspace, project);
  const taken = wanted.filter((name) => declared.has(name));
  if (taken.length > 0) {
    throw new ScaffoldError(
      `${taken.map((name) => `"${name}" (in ${declared.get(name)})`).join(", ")} already exist${
        taken.length === 1 ? "s" : ""
      } in package ${project.protoPackage}; pick another name`,
    );
  }
}

/** The generated TypeScript module of a proto file, and its file descriptor's export name. */
export function generated(project: Project, protoFile: string): { module: string; descriptor: string } {
  const base = protoFile.slice(protoFile.lastIndexOf("/") + 1, -".proto".length);
  return {
    module: `${project.genDir}/${base}_pb.ts`,
    descriptor: `file_${project.protoName}_v1_${base}`,
  };
}

/** A relative import specifier from one repository file to another. */
export function importPath(from: string, to: string): string {
  const fromParts = from.split("/").slice(0, -1);
  const toParts = to.split("/");
  let common = 0;
  while (common < fromParts.length && fromParts[common] === toParts[common]) common++;
  const up = fromParts.length - common;
  const rest = toParts.slice(common).join("/");
  return up === 0 ? `./${rest}` : `${"../".repeat(up)}${rest}`;
}
