/**
 * The files `new service` writes anew: the README of the new service and its starter web page.
 *
 * @module
 */
import type { Names } from "./names.ts";

/** The README of the new service. */
export function serviceReadme(service: string, n: Names): string {
  return [readmeStart(service, n), readmeAdding(service, n), readmeLayout(service)].join("\n");
}

/** What the service is and how to start it. */
function readmeStart(service: string, n: Names): string {
  return `# ${service}

An event-sourced CQRS service on Deno, started from the dendrite template: commands are validated by
event-sourced aggregates, events feed tracking processors that build query models, queries read them, and the
API speaks gRPC, grpc-web and Connect on one port. It runs as **one process with no Docker, Java or licence**
(the embedded Axon-API server soma over SQLite) and grows into separate services on Axon Server and
Elasticsearch without changing application code.

## Quick start

\`\`\`sh
npx -y deno@2.9.3 task start   # everything in one process: http://localhost:8080
npx -y deno@2.9.3 task test    # the whole suite
\`\`\`

Data goes to \`./data\` (\`DATA_DIR\` overrides). On first start the program creates a root key manager, a JWT
signing key and user \`admin\`; the log says where the generated password is (or set \`DENDRITE_ADMIN_PASSWORD\`).

\`\`\`sh
curl -H 'content-type: application/json' -d '{}' http://localhost:8080/${service}.v1.${n.pascal}Service/List${n.pluralPascal}
\`\`\`

Other tasks: \`deno task check\` (fmt, lint, strict type check, generated-code drift), \`deno task gen\`
(regenerate protobuf code), \`deno task keys init\` (a fresh root key), \`deno task run-stack\` (the stack).
\`deno task start --help\` lists every option and variable.
`;
}

/** How `deno task new` adds to it. */
function readmeAdding(service: string, n: Names): string {
  return `## Adding to the service: one command

\`\`\`sh
deno task new feature Invoice             # aggregate + projection + query + RPCs, tests, wiring, policy
deno task new aggregate Invoice --dry-run # list what it would write; nothing is changed
\`\`\`

Kinds: \`aggregate\`, \`projection\`, \`query\`, \`rpc\` and \`feature\` (all four). It writes the proto messages
under \`proto/${service}/v1/\`, the code under \`src/example/<name>/\` and \`src/example/api/\`, given/when/then tests
for each, and the registrations at the \`// dendrite:scaffold:…\` lines of \`src/example/wiring.ts\` (the composition
root), \`src/example/api_role.ts\` and \`src/example/security/policy.ts\`; then it runs \`deno task gen\` and
\`deno fmt\`. A bad or taken name is refused and nothing is written. A new projection's processor shows on soma's
dashboard with no further call.

The first aggregate, \`${n.pascal}\` (\`src/example/${n.snake}/\`), is a starting point: it records texts and counts
them. Put your own rules in its \`decide\` and \`evolve\`.
`;
}

/** Its layout and what came from the template. */
function readmeLayout(service: string): string {
  return `## Layout

\`\`\`
${`proto/${service}/v1/`.padEnd(20)}the service's messages and API
src/gen/            generated protobuf TypeScript (deno task gen)
src/example/        the service: its features, wiring.ts (composition root), api_role.ts, security/
src/dendrite/       the library: messages, event store, aggregates, processors, documents, connector, security
src/soma/           the embedded Axon-API server
src/server/         one HTTP listener: gRPC, grpc-web, Connect, the UI
web/                the starter page (Preact)
test/               contracts, soma, real processes, security
\`\`\`

The library's reference is in \`docs/\` (api, soma, query side, security, stack); its examples name the
template's greeter, which this service does not contain. Processors, segments, dead letters, snapshots,
upcasting, roles (\`--role=soma,command,projection,api\`), TLS and the trust model work as described there.

## What came from the template

\`deno task new service ${service}\` kept the dendrite library, soma, the server, the security domain and their
tests, renamed the proto package to \`${service}.v1\` and the Axon component to \`${service}\`, and removed the
greeter, the enrolment example, the greeter UI and the tests and benchmarks that exercised the library through
the greeter (they stay in the template repository).
`;
}

/** The starter page's script. */
export function starterApp(service: string, n: Names): string {
  return `/**
 * The starter page of ${service}: replace it with your UI. \`deno task start\` bundles this file with esbuild.
 *
 * @module
 */
import { render } from "preact";

function App() {
  return (
    <main>
      <h1>${service}</h1>
      <p>
        The service is running. Its API is on this port (gRPC, grpc-web and Connect), for example
        <code>${service}.v1.${n.pascal}Service/List${n.pluralPascal}</code>.
      </p>
      <p>
        Edit <code>web/app.tsx</code> to build the UI; add features with <code>deno task new feature Name</code>.
      </p>
    </main>
  );
}

render(<App />, document.getElementById("app")!);
`;
}

/** The starter page. */
export function starterHtml(service: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${service}</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/styles.css">
    <script type="module" src="/app.js"></script>
  </head>
  <body>
    <div id="app">
      <p>Loading…</p>
    </div>
    <noscript>This page needs JavaScript.</noscript>
  </body>
</html>
`;
}

/** The starter page's styles. */
export function starterCss(): string {
  return `body {
  font-family: system-ui, sans-serif;
  margin: 0;
  color: #1f2328;
  background: #f6f8fa;
}

main {
  max-width: 40rem;
  margin: 3rem auto;
  padding: 0 1rem;
}

code {
  background: #eaeef2;
  padding: 0 0.25rem;
  border-radius: 0.25rem;
}
`;
}
