/**
 * soma's status page in a real browser (Debian's Chromium via playwright-core): the lag chart and the health line
 * show a processor behind (a gRPC client reports a segment at token 0 after events were appended), then caught up
 * once it reports the head; the throughput chart shows the append. No Content-Security
 * Policy violation happens (the charts are SVG built with DOM APIs, no inline script or style).
 *
 * Without /usr/bin/chromium the test is ignored with a reason, except under CI=true, where it fails.
 */
import { create } from "@bufbuild/protobuf";
import { chromium } from "playwright-core";
import { exampleRegistry } from "../../src/example/wiring.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { GreetedEventSchema } from "../../src/gen/example/v1/domain_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { CHROMIUM, CHROMIUM_ARGS, CI, missing } from "../e2e/browser.ts";
import { processorClient } from "./processor_client.ts";
import { events, RawClient, testSoma } from "./raw_client.ts";

const TOKEN = "dashboard-chart-token";
const PROCESSOR = "chart-projection";
const EVENTS = 25;

Deno.test({
  name: "soma dashboard: the lag chart and the health line show a processor behind, then caught up",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { soma, dispose } = await testSoma({ accessToken: TOKEN, history: { intervalMs: 100 } });
    const raw = new RawClient(soma.port, { token: TOKEN });
    const worker = await processorClient(soma.port, {
      token: TOKEN,
      clientId: "chart-worker",
      processorName: PROCESSOR,
    });
    const userDataDir = await Deno.makeTempDir({ prefix: "soma-chart-chromium-" });
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
    });
    try {
      await raw.clientStream(
        events.appendEvent,
        Array.from({ length: EVENTS }, (_, i) =>
          create(EventSchema, {
            messageIdentifier: crypto.randomUUID(),
            aggregateIdentifier: "main",
            aggregateSequenceNumber: BigInt(i),
            aggregateType: "example.v1.Greeter",
            timestamp: BigInt(Date.now()),
            payload: exampleRegistry().encode(create(GreetedEventSchema, { message: `m${i}` })),
          })),
      );
      await worker.report(true, [{ segment: 0, onePartOf: 1, tokenPosition: 0 }]);

      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const violations: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`http://127.0.0.1:${soma.httpPort}/`);
      await page.locator("#token").fill(TOKEN);
      await page.locator("#auth button[type=submit]").click();

      // Behind: 24 events after the reported position. (A flat line has no height: "attached", not "visible".)
      const lagLine = page.locator(`polyline[data-series="lag:${PROCESSOR}"]`);
      await page.locator(`polyline[data-series="lag:${PROCESSOR}"][data-last="${EVENTS - 1}"]`).waitFor({
        state: "attached",
      });
      const health = page.locator(`#health li[data-processor="${PROCESSOR}"]`);
      await health.filter({ hasText: `${EVENTS - 1} events behind` }).waitFor();
      assertEquals(await health.getAttribute("class"), "behind");
      // The append shows as a rate above 0 between two samples.
      await page.locator('polyline[data-series="rate:events"]:not([data-max="0"])').waitFor({
        state: "attached",
      });
      assertEquals(await page.locator("#charts figure").count(), 2);

      // Caught up: the client reports the head.
      await worker.report(true, [{ segment: 0, onePartOf: 1, tokenPosition: EVENTS - 1 }]);
      await page.locator(`polyline[data-series="lag:${PROCESSOR}"][data-last="0"]`).waitFor({
        state: "attached",
      });
      await health.filter({ hasText: "caught up" }).waitFor();
      assertEquals(await health.getAttribute("class"), "good");
      assertEquals(
        Number(await lagLine.getAttribute("data-max")),
        EVENTS - 1,
        "the chart keeps the lag it had",
      );
      const points = (await lagLine.getAttribute("points"))!.trim().split(/\s+/);
      assert(points.length >= 2, `a line, not a point: ${points.join(" ")}`);
      assertEquals(violations, []);
    } finally {
      await browser.close();
      await Deno.remove(userDataDir, { recursive: true });
      worker.close();
      raw.close();
      await dispose();
    }
  },
});
