/**
 * Shared pieces of the browser tests: Debian's Chromium driven by playwright-core (no browser download), and
 * the page actions the tests repeat.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { assert } from "../assert.ts";

export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
export const CI = Deno.env.get("CI") === "true";
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Launch flags that work on the project's machines (see docs: toolchain). */
export const CHROMIUM_ARGS = [
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

export const missing = chromiumMissing();
if (missing && !CI) {
  console.warn(
    `ignoring the browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
  );
}

export const TIMEOUT_MS = 20_000;

export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(url);
  await page.getByTestId("live-state").getByText("live").waitFor();
  return page;
}

export async function greet(page: Page, message: string): Promise<void> {
  const input = page.getByRole("textbox", { name: "Greeting", exact: true });
  await input.fill(message);
  await input.press("Enter");
}

export function greetingItem(page: Page, message: string) {
  return page.getByTestId("greetings").locator("li", { hasText: message });
}

export async function signIn(page: Page, identifier: string, password: string): Promise<void> {
  const form = page.getByRole("form", { name: "Sign in" });
  await form.getByRole("textbox", { name: "User" }).fill(identifier);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
}

export async function assertSignedOut(page: Page): Promise<void> {
  await page.getByRole("form", { name: "Sign in" }).waitFor();
  assert(await page.getByRole("button", { name: "Stop" }).isDisabled(), "Stop is not usable signed out");
  assert(await page.getByRole("button", { name: "Record" }).isDisabled(), "Record is not usable signed out");
  await page.getByTestId("recording-hint").getByText("Sign in as an admin").waitFor();
}

/** A fresh Chromium profile with the given viewport; close `context` and remove `userDataDir` after. */
export async function launch(
  viewport: { width: number; height: number },
): Promise<{ context: BrowserContext; userDataDir: string }> {
  const userDataDir = await Deno.makeTempDir({ prefix: "dendrite-chromium-" });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return { context, userDataDir };
}
