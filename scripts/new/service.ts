import { ScaffoldError, type Workspace } from "./workspace.ts";
export function planService(_workspace: Workspace, name: string): void {
  throw new ScaffoldError(`not yet: ${name}`);
}
