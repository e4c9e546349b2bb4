/**
 * The UI in Chromium with two tabs and another client: the greeting count and the Record/Stop state follow the
 * server live (`WatchStatus`), without a reload and consistent with the list; the greeting-length count is in
 * characters, not UTF-16 units.
 */
import { createClient } from "@connectrpc/connect";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "../api/fixture.ts";
import { CHROMIUM, CI, greet, greetingItem, launch, missing, openPage, signIn } from "./browser.ts";
import type { Page } from "playwright-core";

async function countOf(page: Page): Promise<number> {
  const text = await page.getByTestId("greeting-count").textContent();
  return Number(text?.match(/^(\d+) greetings$/)?.[1] ?? NaN);
}

async function waitForCount(page: Page, count: number): Promise<void> {
  await page.getByTestId("greeting-count").getByText(`${count} greetings`, { exact: true }).waitFor();
}

Deno.test({
  name: "the UI: another tab's and another client's actions update the count and Record/Stop live",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (missing) throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}`);
    const t = await startTestApp({ ui: true });
    const { context, userDataDir } = await launch({ width: 900, height: 700 });
    try {
      const a = await openPage(context, t.url);
      const b = await openPage(context, t.url);
      for (const page of [a, b]) {
        await signIn(page, "admin", t.adminPassword);
        await page.getByTestId("signed-in-as").waitFor();
        await waitForCount(page, 0);
      }

      // Tab A greets: tab B's count and list agree, without a reload.
      await greet(a, "Hello from tab A");
      await greetingItem(b, "Hello from tab A").waitFor();
      await waitForCount(b, 1);

      // Another client (not a browser) greets: both tabs follow.
      const api = createClient(GreeterService, t.transport);
      await api.greet({ message: "Hello from curl's cousin" });
      await waitForCount(a, 2);
      await waitForCount(b, 2);
      assertEquals(await b.getByTestId("greetings").locator("li").count(), await countOf(b));

      // Tab A stops: tab B shows "stopped", offers Record, not Stop, and does not offer Greet.
      await a.getByRole("button", { name: "Stop" }).click();
      await b.getByTestId("recording-state").getByText("stopped").waitFor();
      await b.getByRole("button", { name: "Stop" }).and(b.locator(":disabled")).waitFor();
      assert(await b.getByRole("button", { name: "Record" }).isEnabled(), "tab B offers Record");
      assert(
        await b.getByRole("form", { name: "Greet" }).getByRole("button", { name: "Greet" }).isDisabled(),
        "tab B does not offer Greet while stopped",
      );

      // Tab B records again: tab A follows.
      await b.getByRole("button", { name: "Record" }).click();
      await a.getByTestId("recording-state").getByText("recording").waitFor();
      await a.getByRole("button", { name: "Record" }).and(a.locator(":disabled")).waitFor();
      assert(await a.getByRole("button", { name: "Stop" }).isEnabled(), "tab A offers Stop");
    } finally {
      await context.close();
      await t.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "the UI: 600 emoji are 600 characters and are greeted",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (missing) throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}`);
    const t = await startTestApp({ ui: true });
    const { context, userDataDir } = await launch({ width: 900, height: 700 });
    try {
      const page = await openPage(context, t.url);
      const emoji = "😀".repeat(600);
      const input = page.getByRole("textbox", { name: "Greeting", exact: true });
      await input.fill(emoji);
      assertEquals(await input.inputValue(), emoji, "the input keeps all 600 emoji");
      await page.getByTestId("greet-note").getByText("600 / 1000 characters").waitFor();
      await input.press("Enter");
      await greetingItem(page, emoji).waitFor();

      // 1,001 characters: the form says so and does not send.
      await input.fill("x".repeat(1001));
      await page.getByTestId("greet-note").getByText("at most 1000 characters; this one has 1001").waitFor();
      assert(
        await page.getByRole("form", { name: "Greet" }).getByRole("button", { name: "Greet" }).isDisabled(),
        "Greet is not offered for a greeting that is too long",
      );
    } finally {
      await context.close();
      await t.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
