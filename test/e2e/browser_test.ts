/**
 * The UI in a real browser: Debian's Chromium driven by playwright-core (no browser download).
 *
 * Without /usr/bin/chromium the test is ignored with a reason, except under CI=true, where it fails.
 * `UPDATE_SCREENSHOT=1` also writes docs/screenshot.png.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { assert } from "../assert.ts";
import { startTestApp } from "../api/fixture.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const CI = Deno.env.get("CI") === "true";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Launch flags that work on the project's machines (see docs: toolchain). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function chromiumMissing(): boolean {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
}

const missing = chromiumMissing();
if (missing && !CI) {
  console.warn(
    `test/e2e: ignoring the browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
  );
}

const TIMEOUT_MS = 20_000;

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(url);
  await page.getByTestId("live-state").getByText("live").waitFor();
  return page;
}

async function greet(page: Page, message: string): Promise<void> {
  const input = page.getByRole("textbox", { name: "Greeting", exact: true });
  await input.fill(message);
  await input.press("Enter");
}

function greetingItem(page: Page, message: string) {
  return page.getByTestId("greetings").locator("li", { hasText: message });
}

Deno.test({
  name: "the UI greets, shows refusals, records again, searches, and updates a second page live",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (missing) {
      throw new Error(
        `CI=true but there is no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium)`,
      );
    }
    const t = await startTestApp({ ui: true });
    const userDataDir = await Deno.makeTempDir({ prefix: "dendrite-chromium-" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 620 },
    });
    try {
      const page = await openPage(context, t.url);
      await page.getByTestId("recording-state").getByText("recording").waitFor();

      // Greet with Enter in a real form: the greeting appears in the live list.
      await greet(page, "Hello from the browser");
      await greetingItem(page, "Hello from the browser").waitFor();
      assert(
        (await page.getByRole("textbox", { name: "Greeting", exact: true }).inputValue()) === "",
        "the input is cleared",
      );

      // A second page sees a new greeting without reloading.
      const second = await openPage(context, t.url);
      await greetingItem(second, "Hello from the browser").waitFor();
      await greet(page, "Seen on the second page");
      await greetingItem(second, "Seen on the second page").waitFor();

      // Stop: greeting is refused, and the page says why.
      await page.getByRole("button", { name: "Stop" }).click();
      await page.getByTestId("recording-state").getByText("stopped").waitFor();
      await greet(page, "Refused greeting");
      const alert = page.getByRole("alert");
      await alert.getByText("not recording").waitFor();
      assert((await alert.textContent())?.includes("EX001"), "the domain code is shown");
      assert(await greetingItem(page, "Refused greeting").count() === 0, "a refused greeting is not listed");

      // Record: greeting works again and the error goes away.
      await page.getByRole("button", { name: "Record" }).click();
      await page.getByTestId("recording-state").getByText("recording").waitFor();
      await greet(page, "Recording again");
      await greetingItem(page, "Recording again").waitFor();
      await alert.waitFor({ state: "detached" });

      // Search finds a greeting.
      const search = page.getByRole("searchbox", { name: "Search" });
      await search.fill("browser");
      await search.press("Enter");
      await page.getByTestId("search-results").locator("li", { hasText: "Hello from the browser" }).waitFor();
      assert(
        await page.getByTestId("search-results").locator("li", { hasText: "Recording again" }).count() === 0,
        "search shows only matches",
      );

      const screenshot = Deno.env.get("UPDATE_SCREENSHOT") === "1"
        ? join(ROOT, "docs", "screenshot.png")
        : join(userDataDir, "screenshot.png");
      await page.screenshot({ path: screenshot, fullPage: true });
    } finally {
      await context.close();
      await t.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
