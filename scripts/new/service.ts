/**
 * `deno task new service <name>`: turns a fresh clone of the template into the user's own service. The example
 * goes (see `service_prune.ts`); the proto package becomes `<name>.v1` with one first feature named after the
 * service; the Axon component and the package are renamed; the UI becomes a starter page; the README is
 * rewritten. It runs once: a repository without the greeter is refused.
 *
 * @module
 */
import { planFeature } from "./feature.ts";
import { names } from "./names.ts";
import { readProject } from "./project.ts";
import { pruneExample } from "./service_prune.ts";
import { serviceReadme, starterApp, starterCss, starterHtml } from "./service_templates.ts";
import { ScaffoldError, type Workspace } from "./workspace.ts";

/** Service names the scaffolder refuses: they are taken by the repository's own packages or by tools. */
const RESERVED_SERVICES = new Set(["axon", "dendrite", "example", "google", "grpc", "io", "soma", "test"]);

const SERVICE = /^[a-z][a-z0-9]{1,29}$/;

/** Replaces `from` by `to` exactly once in a file's text; a clear error when the template moved. */
function replaceOnce(workspace: Workspace, path: string, from: string, to: string): void {
  workspace.modify(path, (text) => {
    const count = text.split(from).length - 1;
    if (count !== 1) {
      throw new ScaffoldError(`"${path}" has ${count} occurrences of ${JSON.stringify(from)} (expected one)`);
    }
    return text.replace(from, to);
  });
}

/** The deno.json of the service: its package name, no task whose script is gone, no doc-example check. */
function denoJson(workspace: Workspace, service: string): void {
  workspace.modify("deno.json", (text) => {
    const config = JSON.parse(text) as {
      name?: string;
      tasks?: Record<string, { command: string } | string>;
    };
    config.name = `@${service}/${service}`;
    for (const [task, definition] of Object.entries(config.tasks ?? {})) {
      const command = typeof definition === "string" ? definition : definition.command;
      const script = command.match(/^deno run [^ ]*(?: -A)? ?(\S+\.ts)/)?.[1];
      if (script && !workspace.exists(script)) delete config.tasks![task];
    }
    // The library's doc examples use the example's messages, which the service no longer has: they were
    // type-checked in the template; the service checks its own code (and the library's types) only.
    const check = config.tasks?.check;
    if (check && typeof check !== "string") {
      check.command = check.command.replace(/ && deno check --doc [^&]*(?=&&|$)/, " ").replace(/ {2,}/g, " ")
        .trim();
    }
    return `${JSON.stringify(config, null, 2)}\n`;
  });
}

/** Plans `new service <name>`. */
export function planService(workspace: Workspace, service: string): void {
  if (!SERVICE.test(service)) {
    throw new ScaffoldError(
      `"${service}" is not a service name: use 2 to 30 lower-case letters and digits, starting with a letter ` +
        `(it becomes the proto package "${
          service.toLowerCase().replace(/[^a-z0-9]/g, "")
        }.v1" and the component)`,
    );
  }
  if (RESERVED_SERVICES.has(service)) {
    throw new ScaffoldError(
      `"${service}" is reserved (a package of this repository or of a tool); pick another`,
    );
  }
  if (!workspace.exists("proto/example/v1/greeter.proto")) {
    throw new ScaffoldError(
      "This repository is no longer the template (proto/example/v1/greeter.proto is gone): `new service` runs " +
        "once, on a fresh clone. Add features with `deno task new feature <Name>`",
    );
  }
  const first = names(service.charAt(0).toUpperCase() + service.slice(1));
  pruneExample(workspace);
  planFeature(workspace, readProject(workspace, service), first);
  replaceOnce(
    workspace,
    "src/example/wiring.ts",
    `export const COMPONENT = "dendrite-example";`,
    `export const COMPONENT = "${service}";`,
  );
  denoJson(workspace, service);
  workspace.modify("README.md", () => serviceReadme(service, first));
  workspace.create("web/app.tsx", starterApp(service, first));
  workspace.create("web/index.html", starterHtml(service));
  workspace.create("web/styles.css", starterCss());
}
