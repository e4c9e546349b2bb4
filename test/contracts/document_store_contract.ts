/**
 * The DocumentStore contract, run against every adapter (in-memory, SQLite, Elasticsearch when ELASTICSEARCH_URL is set).
 *
 * @module
 */
import { assertEquals, assertRejects } from "../assert.ts";
import type { DocumentStore } from "../../src/dendrite/mod.ts";

export interface DocumentStoreFixture {
  readonly store: DocumentStore;
  close(): Promise<void>;
}

type Note = { title: string; body: string; rank: number };

/** Registers the suite as Deno tests named `<adapter>: DocumentStore …`. */
export function documentStoreContract(
  adapter: string,
  open: () => Promise<DocumentStoreFixture>,
  options: { skip?: string | false } = {},
): void {
  if (options.skip) console.log(`Skipping the DocumentStore contract for ${adapter}: ${options.skip}`);
  const test = (name: string, fn: (store: DocumentStore, collection: string) => Promise<void>) =>
    Deno.test({
      name: `${adapter}: DocumentStore ${name}`,
      ignore: Boolean(options.skip),
      async fn() {
        const fixture = await open();
        try {
          await fn(fixture.store, `notes-${crypto.randomUUID().slice(0, 8)}`);
        } finally {
          await fixture.close();
        }
      },
    });

  test("puts, gets, replaces and deletes documents", async (store, name) => {
    const notes = store.collection<Note>(name, { textFields: ["title", "body"] });
    await notes.put("a", { title: "First", body: "hello", rank: 1 });
    assertEquals(await notes.get("a"), { title: "First", body: "hello", rank: 1 });
    assertEquals(await notes.get("missing"), undefined);
    await notes.put("a", { title: "First", body: "changed", rank: 1 });
    await notes.put("a", { title: "First", body: "changed", rank: 1 });
    assertEquals(await notes.count(), 1);
    assertEquals((await notes.get("a"))?.body, "changed");
    assertEquals(await notes.delete("a"), true);
    assertEquals(await notes.delete("a"), false);
    assertEquals(await notes.count(), 0);
  });

  test("lists in insertion order or by a field, with limit and offset", async (store, name) => {
    const notes = store.collection<Note>(name);
    await notes.putMany([
      { id: "x", document: { title: "x", body: "", rank: 3 } },
      { id: "y", document: { title: "y", body: "", rank: 1 } },
      { id: "z", document: { title: "z", body: "", rank: 2 } },
    ]);
    assertEquals((await notes.list()).map((f) => f.id), ["x", "y", "z"]);
    assertEquals((await notes.list({ orderBy: "rank" })).map((f) => f.id), ["y", "z", "x"]);
    assertEquals((await notes.list({ orderBy: "rank", descending: true, limit: 2 })).map((f) => f.id), [
      "x",
      "z",
    ]);
    assertEquals((await notes.list({ orderBy: "rank", limit: 1, offset: 1 })).map((f) => f.id), ["z"]);
  });

  test("searches words, phrases and prefixes, ignoring case; all terms must match", async (store, name) => {
    const notes = store.collection<Note>(name, { textFields: ["title", "body"] });
    await notes.put("1", { title: "Hello World", body: "a greeting for everyone", rank: 1 });
    await notes.put("2", { title: "Goodbye", body: "World peace and hello again", rank: 2 });
    await notes.put("3", { title: "Unrelated", body: "nothing here", rank: 3 });
    const ids = async (q: string) => (await notes.search(q)).map((f) => f.id).sort();
    assertEquals(await ids("hello"), ["1", "2"]);
    assertEquals(await ids("HELLO world"), ["1", "2"]);
    assertEquals(await ids('"hello world"'), ["1"]);
    assertEquals(await ids("greet*"), ["1"]);
    assertEquals(await ids("peace hello"), ["2"]);
    assertEquals(await ids("missing"), []);
    assertEquals(await ids(""), []);
  });

  test("treats operator characters in a search literally and never fails on them", async (store, name) => {
    const notes = store.collection<Note>(name, { textFields: ["body"] });
    await notes.put("1", { title: "", body: 'it\'s "quoted" AND (grouped) with a \\ backslash', rank: 1 });
    for (
      const query of ['"', "it's", "AND", "(grouped", "\\", "*", "NOT", 'quoted"', "a:b", "-x", "{}[]^~"]
    ) {
      await notes.search(query);
    }
    assertEquals((await notes.search("it's")).map((f) => f.id), ["1"]);
    assertEquals((await notes.search("(grouped)")).map((f) => f.id), ["1"]);
    // Words that are operators elsewhere are plain words here: OR, NOT, a leading minus, a field prefix.
    await notes.put("2", { title: "", body: "grouped only", rank: 2 });
    const ids = async (q: string) => (await notes.search(q)).map((f) => f.id).sort();
    assertEquals(await ids("grouped OR nothing"), []);
    assertEquals(await ids("grouped -backslash"), ["1"]);
    assertEquals(await ids("grouped | only"), ["2"]);
    assertEquals(await ids("body:grouped"), []);
    assertEquals(await ids("grouped~ +only"), ["2"]);
    assertEquals(await ids("grouped^3"), []);
    assertEquals(await ids("gro?ped"), []);
  });

  test("cuts words at anything but letters and digits, in any script and case", async (store, name) => {
    const notes = store.collection<Note>(name, { textFields: ["title", "body"] });
    await notes.put("1", { title: "Straße ÜBER", body: "abc123 snake_case e-mail 3.14 日本語", rank: 1 });
    await notes.put("2", { title: "abc", body: "über alles", rank: 2 });
    const ids = async (q: string) => (await notes.search(q)).map((f) => f.id).sort();
    assertEquals(await ids("STRASSE"), []);
    assertEquals(await ids("straße über"), ["1"]);
    assertEquals(await ids("Über"), ["1", "2"]);
    assertEquals(await ids("abc123"), ["1"]);
    assertEquals(await ids("abc"), ["2"]);
    assertEquals(await ids("abc*"), ["1", "2"]);
    assertEquals(await ids("snake"), ["1"]);
    assertEquals(await ids("snake_case"), ["1"]);
    assertEquals(await ids('"case e mail"'), ["1"]);
    assertEquals(await ids("14"), ["1"]);
    assertEquals(await ids("日本語"), ["1"]);
    assertEquals(await ids("日本"), []);
    assertEquals(await ids("日本*"), ["1"]);
  });

  test("searches the text fields as one text, in the order they are declared", async (store, name) => {
    const notes = store.collection<Note>(name, { textFields: ["title", "body"] });
    await notes.put("1", { title: "Hello", body: "world peace", rank: 1 });
    await notes.put("2", { title: "peace", body: "no rank field is searched", rank: 2 });
    const ids = async (q: string) => (await notes.search(q)).map((f) => f.id).sort();
    assertEquals(await ids('"hello world"'), ["1"]);
    assertEquals(await ids('"world hello"'), []);
    assertEquals(await ids("hello peace"), ["1"]);
    assertEquals(await ids("peace"), ["1", "2"]);
    assertEquals(await ids("2"), []);
    const plain = store.collection<Note>(`${name}-plain`);
    await plain.put("1", { title: "hello", body: "hello", rank: 1 });
    assertEquals(await plain.search("hello"), [], "a collection without text fields finds nothing");
  });

  test("reads a collection nobody wrote to yet as empty", async (store, name) => {
    const fresh = store.collection<Note>(name, { textFields: ["body"] });
    assertEquals(await fresh.get("x"), undefined);
    assertEquals(await fresh.list(), []);
    assertEquals(await fresh.search("anything"), []);
    assertEquals(await fresh.count(), 0);
    assertEquals(await fresh.delete("x"), false);
  });

  test(
    "a unit of work sees its own writes, and they are all searchable once it ends",
    async (store, name) => {
      const unitOfWork = store.unitOfWork?.bind(store);
      if (!unitOfWork) return console.log(`${adapter} has no unitOfWork (optional in the port)`);
      const notes = store.collection<Note>(name, { textFields: ["body"] });
      await unitOfWork(async () => {
        await notes.put("1", { title: "", body: "first batch", rank: 1 });
        await notes.putMany([{ id: "2", document: { title: "", body: "first batch too", rank: 2 } }]);
        assertEquals((await notes.get("1"))?.rank, 1);
        assertEquals(await notes.delete("2"), true);
        assertEquals(await notes.get("2"), undefined);
        await notes.put("3", { title: "", body: "batch three", rank: 3 });
      });
      assertEquals((await notes.search("batch")).map((f) => f.id).sort(), ["1", "3"]);
      await assertRejects(
        () =>
          unitOfWork(async () => {
            await notes.put("4", { title: "", body: "never written", rank: 4 });
            throw new Error("the batch fails");
          }),
        Error,
        "the batch fails",
      );
      assertEquals(await notes.get("4"), undefined);
      assertEquals(await notes.search("never"), []);
    },
  );

  test("limits search results", async (store, name) => {
    const notes = store.collection<Note>(name, { textFields: ["body"] });
    await notes.putMany(
      Array.from(
        { length: 5 },
        (_, i) => ({ id: `n${i}`, document: { title: "", body: "same words", rank: i } }),
      ),
    );
    assertEquals((await notes.search("same", { limit: 3 })).length, 3);
  });

  test("clears one collection and keeps collections apart", async (store, name) => {
    const a = store.collection<Note>(name, { textFields: ["body"] });
    const b = store.collection<Note>(`${name}-b`, { textFields: ["body"] });
    await a.put("1", { title: "", body: "shared word", rank: 1 });
    await b.put("1", { title: "", body: "shared word", rank: 2 });
    assertEquals((await a.get("1"))?.rank, 1);
    assertEquals((await b.search("shared")).map((f) => f.document.rank), [2]);
    await a.clear();
    assertEquals(await a.count(), 0);
    assertEquals(await a.search("shared"), []);
    assertEquals(await b.count(), 1);
  });
}
