/**
 * `deno task new feature <Name>`: the aggregate, its projection, its query and its RPCs in one change set.
 *
 * @module
 */
import { planAggregate } from "./aggregate.ts";
import type { Names } from "./names.ts";
import type { Project } from "./project.ts";
import { planProjection } from "./projection.ts";
import { planQuery } from "./query.ts";
import { planRpc } from "./rpc.ts";
import type { Workspace } from "./workspace.ts";

/** Plans `new feature`: all four kinds, in the order each needs the one before. */
export function planFeature(workspace: Workspace, project: Project, n: Names): void {
  planAggregate(workspace, project, n);
  planProjection(workspace, project, n);
  planQuery(workspace, project, n);
  planRpc(workspace, project, n);
}
