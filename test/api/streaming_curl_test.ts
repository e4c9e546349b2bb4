/**
 * Server-streaming RPCs over plain curl (issue 16, item 6): the snippet docs/api.md gives ("Streaming calls with
 * curl", between the `streaming-curl` markers) is run as written by bash and the real curl against the program's
 * API and must print the greeting and the end-of-stream message; plain JSON to a streaming RPC gets a 415 whose
 * body says what to do, and a unary RPC still lists plain JSON.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "./fixture.ts";
import { connectJson, GREETER, waitProjected } from "./wire.ts";

const DOCS = new URL("../../docs/api.md", import.meta.url);

/** The shell snippet between the markers, pointed at `url` instead of the default port. */
async function documentedSnippet(url: string): Promise<string> {
  const text = await Deno.readTextFile(DOCS);
  const block = /<!-- streaming-curl:begin -->\s*```sh\n([\s\S]*?)```\s*<!-- streaming-curl:end -->/.exec(
    text,
  );
  assert(block, "docs/api.md has the streaming-curl snippet between its markers");
  assert(block[1].includes("http://localhost:8080/"), "the snippet calls the documented default address");
  return block[1].replaceAll("http://localhost:8080/", `${url}/`);
}

async function bash(script: string): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, `the snippet failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

Deno.test("the documented curl snippet streams Search results and the end-of-stream message", async () => {
  const t = await startTestApp();
  try {
    const greeted = await connectJson(t.url, `${GREETER}/Greet`, { message: "hi" });
    assertEquals(greeted.response.status, 200, greeted.text);
    await waitProjected(t, "hi");
    const lines = (await bash(await documentedSnippet(t.url))).trim().split("\n");
    assertEquals(lines.length, 2, lines.join("\n"));
    const greeting = JSON.parse(lines[0]) as { message?: string; id?: string };
    assertEquals(greeting.message, "hi");
    assertEquals(greeting.id, (greeted.json as { greetingId: string }).greetingId);
    assertEquals(lines[1], "{}", "a call that succeeded ends with an empty end-of-stream message");
  } finally {
    await t.close();
  }
});

Deno.test("plain JSON to a streaming RPC → 415 saying how to call it; a unary RPC still takes plain JSON", async () => {
  const t = await startTestApp();
  try {
    const search = await connectJson(t.url, `${GREETER}/Search`, { query: "hi" });
    assertEquals(search.response.status, 415, search.text);
    assert(search.text.includes("Search is server-streaming"), search.text);
    assert(search.text.includes("application/connect+json") && search.text.includes("envelope"), search.text);
    assert(search.text.includes("Streaming calls with curl"), search.text);
    const accepted = search.text.split("\n")[0];
    assert(!/application\/json\b(?!\+)/.test(accepted.replace(/^Content-Type "[^"]*"/, "")), accepted);
    assert((await Deno.readTextFile(DOCS)).includes("### Streaming calls with curl"), "the heading it names");

    const none = await fetch(`${t.url}${GREETER}/Greetings`, {
      method: "POST",
      body: new TextEncoder().encode("{}"),
    });
    const noneText = await none.text();
    assertEquals(none.status, 415, noneText);
    assert(noneText.startsWith("The request has no Content-Type"), noneText);
    assert(noneText.includes("Greetings is server-streaming"), noneText);

    const unary = await connectJson(t.url, `${GREETER}/Greet`, "{}", "text/plain");
    assertEquals(unary.response.status, 415, unary.text);
    assert(unary.text.includes("Greet accepts application/json,"), unary.text);
    assert(!unary.text.includes("streaming"), unary.text);
  } finally {
    await t.close();
  }
});
