// Profiles the split-process hop: this process runs soma + the dispatching connector; a child runs the handler.
import { create } from "@bufbuild/protobuf";
import { connectAxon } from "./src/dendrite/axon/mod.ts";
import { MessageRegistry } from "./src/dendrite/mod.ts";
import { startSoma } from "./src/soma/mod.ts";
import * as domain from "./src/gen/example/v1/domain_pb.ts";
import { measure } from "./test/bench/harness.ts";
const registry = new MessageRegistry().addFiles(domain.file_example_v1_domain);
const dataDir = await Deno.makeTempDir({ prefix: "hop-" });
const soma = await startSoma({ dataDir, port: 0, httpPort: false, registry });
const address = `127.0.0.1:${soma.port}`;
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    "--cpu-prof",
    "--cpu-prof-dir=/tmp/fdtest/hopprof",
    "test/bench/fixtures/command_handler.ts",
    address,
  ],
  stdout: "piped",
}).spawn();
const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let text = "";
while (!text.includes("\n")) text += (await reader.read()).value;
const dispatcher = await connectAxon(
  { address, componentName: "d", onStateChange: () => {} },
  registry,
  AbortSignal.timeout(10_000),
);
const cmd = (i: number) =>
  create(domain.GreetCommandSchema, { greeterId: `g${i % 100}`, message: `hi ${i}` });
const via = (i: number) => dispatcher.commandBus.dispatch(cmd(i), { routingKey: `g${i % 100}` });
await measure(500, 64, via);
const r = await measure(8000, 64, via);
console.log("hop commands/s", Math.round(r.perSecond));
child.kill("SIGTERM");
await child.status;
await dispatcher.close();
await soma.close();
