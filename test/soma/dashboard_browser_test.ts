/**
 * soma's status page in a real browser (Debian's Chromium via playwright-core): a processor name and a client id
 * carrying HTML from a gRPC client are shown as text and run no script; the page is served under a strict
 * Content-Security-Policy; processor state needs the token, which the page asks for and keeps in sessionStorage;
 * its actions reach the client with the token, and are refused without it or from another origin.
 *
 * Without /usr/bin/chromium the test is ignored with a reason, except under CI=true, where it fails.
 */
import { chromium } from "playwright-core";
import { assert, assertEquals } from "../assert.ts";
import { processorClient } from "./processor_client.ts";
import { testSoma } from "./raw_client.ts";
import { CHROMIUM, CHROMIUM_ARGS, CI, missing } from "../e2e/browser.ts";
import { rejectedEventsSection } from "../../src/example/security/mod.ts";

const TOKEN = "dashboard-test-token";
const EVIL_PROCESSOR = "p'><img src=x onerror=window.__pwned=1>";
const EVIL_CLIENT = `c"><img src=x onerror=window.__pwned=2>`;
const EVIL_REASON = `signer k1 is not a key manager <img src=x onerror=window.__pwned=3>`;

Deno.test({
  name: "soma dashboard: hostile names are text, no script runs, actions need the token and the same origin",
  ignore: missing && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { soma, dispose } = await testSoma({ accessToken: TOKEN });
    const worker = await processorClient(soma.port, {
      token: TOKEN,
      clientId: EVIL_CLIENT,
      processorName: EVIL_PROCESSOR,
    });
    await worker.report(true, [{ segment: 0, onePartOf: 2, tokenPosition: 0 }, {
      segment: 1,
      onePartOf: 2,
      tokenPosition: 0,
    }]);
    // As the embedded program does: the security events its model ignored, as a section of the status page.
    soma.addStatusSection(() =>
      rejectedEventsSection({
        count: 3,
        events: [{
          token: 7,
          type: "dendrite.security.v1.TrustedKeyAddedEvent",
          aggregateId: "security.key:k1",
          signer: "k1",
          reason: EVIL_REASON,
        }],
      })
    );
    const userDataDir = await Deno.makeTempDir({ prefix: "soma-chromium-" });
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
    });
    const base = `http://127.0.0.1:${soma.httpPort}`;
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const dialogs: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      const notFound: string[] = [];
      page.on("response", (response) => {
        if (response.status() === 404) notFound.push(response.url());
      });
      const response = await page.goto(`${base}/`);
      const csp = response!.headers()["content-security-policy"] ?? "";
      assert(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), csp);
      assert(csp.includes("frame-ancestors 'none'"), csp);
      assertEquals(response!.headers()["x-content-type-options"], "nosniff");

      // Without the token: no processor state, and the page asks for the token.
      await page.locator("#auth-state", { hasText: "enter soma's access token" }).waitFor();
      assertEquals(await page.locator("#processors td").count(), 0);
      assertEquals(await page.locator("#sections table").count(), 0, "sections need the token");

      await page.getByLabel("Access token").fill(TOKEN);
      await page.getByRole("button", { name: "Use" }).click();
      const rows = page.locator("#processors tr", { hasText: EVIL_PROCESSOR });
      await rows.first().waitFor();
      assertEquals(await rows.count(), 2, "one row per segment");
      assertEquals(await page.locator("#processors td", { hasText: EVIL_CLIENT }).count(), 2);
      const rejected = page.locator("#section-security-rejected tr", { hasText: "TrustedKeyAddedEvent" });
      await rejected.waitFor();
      assertEquals(await rejected.locator("td").allTextContents(), [
        "7",
        "dendrite.security.v1.TrustedKeyAddedEvent",
        "security.key:k1",
        "k1",
        EVIL_REASON,
      ]);
      assert(
        (await page.locator("#sections h2").allTextContents()).includes(
          "Security events ignored (they do not verify) (1 of 3)",
        ),
      );
      assertEquals(await page.locator("img").count(), 0, "no element built from data");
      assertEquals(await page.evaluate(() => sessionStorage.getItem("soma-token")), TOKEN);

      // An action from the page reaches the client, with the token.
      await rows.first().getByRole("button", { name: "pause" }).click();
      await page.locator("#result", { hasText: "pause: 200" }).waitFor();
      assertEquals(worker.instructions.map((i) => i.request.case), ["pauseEventProcessor"]);

      assertEquals(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
      assertEquals(dialogs, []);
      assertEquals(notFound, [], "no 404 (favicon included)");
    } finally {
      await browser.close();
      worker.close();
      await dispose();
      await Deno.remove(userDataDir, { recursive: true });
    }
  },
});

Deno.test("soma status port: actions are refused without the token and from another origin", async () => {
  const { soma, dispose } = await testSoma({ accessToken: TOKEN });
  const worker = await processorClient(soma.port, {
    token: TOKEN,
    clientId: "w",
    processorName: "greetings",
  });
  const base = `http://127.0.0.1:${soma.httpPort}`;
  const pause = async (headers: Record<string, string>) => {
    const response = await fetch(`${base}/v1/processors/greetings/pause`, { method: "POST", headers });
    await response.body?.cancel();
    return response.status;
  };
  try {
    await worker.report(true, [{ segment: 0, onePartOf: 1, tokenPosition: 0 }]);
    assertEquals(await pause({}), 401);
    assertEquals(await pause({ "AxonIQ-Access-Token": "guess" }), 403);
    assertEquals(await pause({ "AxonIQ-Access-Token": TOKEN, origin: "http://evil.example" }), 403);
    assertEquals(await pause({ "AxonIQ-Access-Token": TOKEN, "sec-fetch-site": "cross-site" }), 403);
    assertEquals(worker.instructions.length, 0, "nothing reached the client");
    assertEquals(await pause({ "AxonIQ-Access-Token": TOKEN, origin: base }), 200);
    assertEquals(worker.instructions.map((i) => i.request.case), ["pauseEventProcessor"]);
  } finally {
    worker.close();
    await dispose();
  }
});
