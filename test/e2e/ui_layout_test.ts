/**
 * The UI's layout in Chromium on a desktop and a phone viewport: a 1,000-character word wraps instead of
 * widening the page; "reconnecting" does not look like "live".
 */
import { createClient } from "@connectrpc/connect";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "../api/fixture.ts";
import { CHROMIUM, CI, greet, greetingItem, launch, missing, openPage, TIMEOUT_MS } from "./browser.ts";
import type { Page } from "playwright-core";

const VIEWPORTS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

async function pageWidths(page: Page): Promise<{ scroll: number; viewport: number }> {
  return await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
  }));
}

const badge = (page: Page) => page.getByTestId("live-state");

async function badgeStyle(page: Page): Promise<{ color: string; background: string }> {
  return await badge(page).evaluate((element) => {
    const style = getComputedStyle(element);
    return { color: style.color, background: style.backgroundColor };
  });
}

for (const viewport of VIEWPORTS) {
  Deno.test({
    name: `the UI (${viewport.name}): a 1,000-character word wraps; the page is no wider than the viewport`,
    ignore: missing && !CI,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      if (missing) throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}`);
      const t = await startTestApp({ ui: true });
      const { context, userDataDir } = await launch(viewport);
      try {
        const page = await openPage(context, t.url);
        const word = "a".repeat(1000);
        await greet(page, word);
        // And one from another client that the list receives live.
        await createClient(GreeterService, t.transport).greet({ message: "b".repeat(1000) });
        await greetingItem(page, word).waitFor();
        await greetingItem(page, "b".repeat(1000)).waitFor();
        const search = page.getByRole("searchbox", { name: "Search" });
        await search.fill(word);
        await search.press("Enter");
        await page.getByTestId("search-results").locator("li").first().waitFor();
        const { scroll, viewport: width } = await pageWidths(page);
        assert(scroll <= width, `the page is ${scroll} px wide in a ${width} px viewport`);
        const item = await greetingItem(page, word).boundingBox();
        assert(item !== null && item.width <= width, `the greeting is ${item?.width} px wide`);
      } finally {
        await context.close();
        await t.close();
        await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      }
    },
  });
}

Deno.test({
  name: "the UI: 'reconnecting' is styled unlike 'live'",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (missing) throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}`);
    const t = await startTestApp({ ui: true });
    const { context, userDataDir } = await launch({ width: 900, height: 700 });
    try {
      const live = await openPage(context, t.url);
      const liveStyle = await badgeStyle(live);
      // A page whose greetings stream is refused by the network keeps reconnecting.
      const away = await context.newPage();
      away.setDefaultTimeout(TIMEOUT_MS);
      await away.route("**/example.v1.GreeterService/Greetings", (route) => route.abort());
      await away.goto(t.url);
      // Read the style in the same turn as the text, so a state change in between cannot mix them.
      const awayStyle = await (await away.waitForFunction(() => {
        const element = document.querySelector('[data-testid="live-state"]');
        if (element?.textContent !== "reconnecting") return undefined;
        const style = getComputedStyle(element);
        return { color: style.color, background: style.backgroundColor };
      })).jsonValue();
      assert(awayStyle !== undefined);
      // And it stays so while the attempts keep failing (it does not flash "live" at each one).
      await away.waitForRequest("**/example.v1.GreeterService/Greetings");
      assertEquals(await badge(away).textContent(), "reconnecting");
      assert(
        awayStyle.color !== liveStyle.color && awayStyle.background !== liveStyle.background,
        `reconnecting ${JSON.stringify(awayStyle)} looks like live ${JSON.stringify(liveStyle)}`,
      );
    } finally {
      await context.close();
      await t.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
