/**
 * The UI in a real browser: Debian's Chromium driven by playwright-core (no browser download). Signing in, the
 * role-aware Record/Stop buttons, the token held in memory and sent as a bearer token, expiry, and the greeter.
 *
 * Without /usr/bin/chromium the test is ignored with a reason, except under CI=true, where it fails.
 * `UPDATE_SCREENSHOT=1` also writes docs/screenshot.png.
 */
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { signedCall } from "../../src/example/security/mod.ts";
import { ConfigService, SetPropertyRequestSchema } from "../../src/gen/dendrite/security/v1/config_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "../api/fixture.ts";
import {
  assertSignedOut,
  CHROMIUM,
  CI,
  greet,
  greetingItem,
  launch,
  missing,
  openPage,
  ROOT,
  signIn,
} from "./browser.ts";

const EXPIRED = "Your session expired, sign in again";

Deno.test({
  name: "the UI: sign in, role-aware Record/Stop, greet, refusals, search, live updates, expiry",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(test) {
    if (missing) {
      throw new Error(
        `CI=true but there is no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium)`,
      );
    }
    const t = await startTestApp({ ui: true });
    const { context, userDataDir } = await launch({ width: 900, height: 620 });
    try {
      await test.step("signed out, Record and Stop are not usable and the page says why", async () => {
        const page = await openPage(context, t.url);
        await page.getByTestId("recording-state").getByText("recording").waitFor();
        await assertSignedOut(page);
        // Greeting is public: it works signed out and sends no token.
        const [request] = await Promise.all([
          page.waitForRequest((r) => r.url().endsWith("/example.v1.GreeterService/Greet")),
          greet(page, "Anonymous hello"),
        ]);
        assertEquals((await request.allHeaders()).authorization, undefined);
        await greetingItem(page, "Anonymous hello").waitFor();
        await page.close();
      });

      await test.step("a wrong password shows an error and stays signed out", async () => {
        const page = await openPage(context, t.url);
        await signIn(page, "admin", "not-the-password");
        await page.getByRole("alert").getByText("Invalid identifier or password").waitFor();
        await assertSignedOut(page);
        await page.close();
      });

      await test.step("as admin: Stop, Greet not offered while stopped, Record, greet, search, a second page", async () => {
        const page = await openPage(context, t.url);
        await signIn(page, "admin", t.adminPassword);
        await page.getByTestId("signed-in-as").getByText("admin").waitFor();
        assert(await page.getByRole("button", { name: "Sign out" }).isVisible(), "sign out is offered");
        assert(
          await page.getByRole("textbox", { name: "Greeting", exact: true }).isVisible(),
          "the greeter is usable signed in",
        );

        // Greet with Enter in a real form: the greeting appears in the live list.
        await greet(page, "Hello from the browser");
        await greetingItem(page, "Hello from the browser").waitFor();
        assert(
          (await page.getByRole("textbox", { name: "Greeting", exact: true }).inputValue()) === "",
          "the input is cleared",
        );

        // A second page (signed out: the token is not shared) sees a new greeting without reloading.
        const second = await openPage(context, t.url);
        await greetingItem(second, "Hello from the browser").waitFor();
        await greet(page, "Seen on the second page");
        await greetingItem(second, "Seen on the second page").waitFor();
        await assertSignedOut(second);
        await second.close();

        // Stop (with the bearer token): greeting is refused, and the page says why.
        const [stopRequest] = await Promise.all([
          page.waitForRequest((r) => r.url().endsWith("/example.v1.GreeterService/Stop")),
          page.getByRole("button", { name: "Stop" }).click(),
        ]);
        assert((await stopRequest.allHeaders()).authorization?.startsWith("Bearer "), "the token is sent");
        await page.getByTestId("recording-state").getByText("stopped").waitFor();
        // Greet is not usable while stopped, and the form says why in words (no internal code).
        const greetButton = page.getByRole("form", { name: "Greet" }).getByRole("button", { name: "Greet" });
        await greetButton.and(page.locator(":disabled")).waitFor();
        const note = page.getByTestId("greet-note");
        await note.getByText("The greeter is stopped").waitFor();
        assert(!(await note.textContent())?.includes("EX0"), "no internal code next to the form");
        await greet(page, "Refused greeting");
        assert(
          await greetingItem(page, "Refused greeting").count() === 0,
          "a refused greeting is not listed",
        );
        const alert = page.getByRole("alert");

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
        await page.getByTestId("search-results").locator("li", { hasText: "Hello from the browser" })
          .waitFor();
        assert(
          await page.getByTestId("search-results").locator("li", { hasText: "Recording again" }).count() ===
            0,
          "search shows only matches",
        );

        // The token is in memory only.
        const stored = await page.evaluate(() =>
          JSON.stringify({
            local: { ...localStorage },
            session: { ...sessionStorage },
            cookie: document.cookie,
          })
        );
        assertEquals(stored, JSON.stringify({ local: {}, session: {}, cookie: "" }));

        const screenshot = Deno.env.get("UPDATE_SCREENSHOT") === "1"
          ? join(ROOT, "docs", "screenshot.png")
          : join(userDataDir, "screenshot.png");
        await page.screenshot({ path: screenshot, fullPage: true });

        // Signing out drops the token.
        await page.getByRole("button", { name: "Sign out" }).click();
        await assertSignedOut(page);
        assert(await page.getByText(EXPIRED).count() === 0, "signing out is not an expiry");
        await page.close();
      });

      await test.step("an UNAUTHENTICATED answer signs out with a message", async () => {
        const page = await openPage(context, t.url);
        await signIn(page, "admin", t.adminPassword);
        await page.getByTestId("signed-in-as").waitFor();
        // The server refuses the token (as after a revoked signing key): a grpc-web trailers-only answer.
        await page.route("**/example.v1.GreeterService/Stop", (route) =>
          route.fulfill({
            status: 200,
            headers: {
              "content-type": "application/grpc-web+proto",
              "grpc-status": "16",
              "grpc-message": "The token is not valid",
            },
            body: "",
          }));
        await page.getByRole("button", { name: "Stop" }).click();
        await page.getByRole("status").getByText(EXPIRED).waitFor();
        await assertSignedOut(page);
        await page.getByTestId("recording-state").getByText("recording").waitFor();
        await page.close();
      });

      await test.step("when the token's exp passes, the page signs out with a message", async () => {
        // Tokens from now on live 2 s (a signed SetProperty by the root key manager).
        await signedCall(
          t.transport,
          await t.rootKeyManager(),
          ConfigService.method.setProperty,
          create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "2" }),
        );
        const page = await openPage(context, t.url);
        await signIn(page, "admin", t.adminPassword);
        await page.getByTestId("signed-in-as").waitFor();
        assert(
          await page.getByRole("button", { name: "Stop" }).isEnabled(),
          "Stop is usable while signed in",
        );
        await page.getByRole("status").getByText(EXPIRED).waitFor();
        await assertSignedOut(page);
        await page.close();
      });
    } finally {
      await context.close();
      await t.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
