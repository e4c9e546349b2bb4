/**
 * The traced buses keep the bus contracts: `traced_buses.ts` runs the CommandBus and QueryBus contract suites on
 * them in a `deno test` process with Deno's OpenTelemetry on, exporting to a test OTLP receiver.
 */
import { fileURLToPath } from "node:url";
import { assert } from "../assert.ts";
import { OtlpReceiver } from "../observability/otlp_receiver.ts";

const SUITE = fileURLToPath(new URL("./traced_buses.ts", import.meta.url));

Deno.test("contracts: the traced command and query buses pass the bus contracts with tracing on", async () => {
  const receiver = new OtlpReceiver();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", SUITE],
      env: { ...receiver.env("contracts"), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert(output.success, `the contracts failed on the traced buses:\n${text}`);
    assert(/ok \| \d+ passed \| 0 failed/.test(text), text);
    // The buses were traced: their spans arrived.
    await receiver.waitFor((spans) => spans.find((s) => s.name.startsWith("dispatch ")), "a dispatch span");
    await receiver.waitFor((spans) => spans.find((s) => s.name.startsWith("query ")), "a query span");
  } finally {
    await receiver.close();
  }
});
