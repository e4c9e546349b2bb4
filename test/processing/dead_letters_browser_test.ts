/**
 * Dead letters from soma's dashboard in a real browser (Debian's Chromium via playwright-core), on a real program
 * process: a poison event and the event queued behind it show as one parked sequence with retry and evict buttons;
 * evict from the page drops the poison head and handles the queued event; the unauthenticated actions are refused.
 *
 * Without /usr/bin/chromium the test is ignored with a reason, except under CI=true, where it fails.
 */
import { chromium } from "playwright-core";
import { assert, assertEquals, eventually } from "../assert.ts";
import { GREETER_PROJECTION } from "../../src/example/greeter/mod.ts";
import {
  append,
  Greeters,
  LEGACY_REVISION,
  openQueryModel,
  SOMA_TOKEN,
  somaHeaders,
  startProgramProcess,
} from "./program.ts";
import { CHROMIUM, CHROMIUM_ARGS, CI, missing } from "../e2e/browser.ts";

Deno.test({
  name:
    "dashboard: a parked sequence is listed and evicted from the page; the event behind it is then handled",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-dead-letters-ui-" });
    const program = await startProgramProcess("program", dataDir);
    const model = openQueryModel(dataDir);
    const userDataDir = await Deno.makeTempDir({ prefix: "dendrite-chromium-" });
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
    });
    const base = `http://127.0.0.1:${program.httpPort}`;
    try {
      const greeters = new Greeters();
      const poison = greeters.greeted("g<b>1</b>", "poison", {
        revision: LEGACY_REVISION,
        data: new TextEncoder().encode("{}"),
      });
      const behind = greeters.greeted("g<b>1</b>", "queued behind");
      await append(program.grpcPort, [poison, behind]);

      // Without the token, a dead-letter action is refused.
      const path = `/v1/processors/${encodeURIComponent(GREETER_PROJECTION)}/dead-letters/${
        encodeURIComponent("g<b>1</b>")
      }/evict`;
      const anonymous = await fetch(base + path, { method: "POST" });
      await anonymous.body?.cancel();
      assertEquals(anonymous.status, 401);

      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(`${base}/`);
      await page.getByLabel("Access token").fill(SOMA_TOKEN);
      await page.getByRole("button", { name: "Use" }).click();
      const row = page.locator("#dead-letters tr", { hasText: "g<b>1</b>" });
      await row.waitFor();
      assert((await row.textContent())!.includes(LEGACY_REVISION), "the head's revision is shown");
      assertEquals(await page.locator("#dead-letters b").count(), 0, "the sequence id is text, not markup");
      assert(!await model.greeting(behind.messageIdentifier), "the queued event waits");

      await row.getByRole("button", { name: "evict" }).click();
      await page.locator("#result", { hasText: "evict: 200" }).waitFor();
      await eventually(
        async () => (await model.greeting(behind.messageIdentifier)) !== undefined,
        10_000,
        "handled",
      );
      assert(!await model.greeting(poison.messageIdentifier), "the evicted head is not handled");
      const views = await (await fetch(`${base}/v1/processors`, { headers: somaHeaders })).json();
      const instance = views.find((v: { name: string }) => v.name === GREETER_PROJECTION).instances[0];
      assertEquals(instance.deadLetters.count, 0);
      await page.locator("#dead-letters tr", { hasText: "g<b>1</b>" }).waitFor({ state: "detached" });
    } finally {
      await browser.close();
      model.close();
      await program.process.stop();
      await Deno.remove(userDataDir, { recursive: true });
    }
  },
});
