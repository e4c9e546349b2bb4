/**
 * The Elasticsearch DocumentStore: the port contract against a real server when ELASTICSEARCH_URL is set
 * (`scripts/elasticsearch.sh start` runs one), refused writes named by document id on that server, and the
 * requests it sends, checked against the mock-backed fake (index per collection with explicit mappings, bulk
 * writes, ids as given, JSON built by the client, the search built from the shared syntax).
 */
import { Client } from "@elastic/elasticsearch";
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  BulkWriteError,
  collectionMappings,
  ElasticsearchDocumentStore,
} from "../../src/dendrite/elasticsearch/mod.ts";
import { toSearchQuery } from "../../src/dendrite/elasticsearch/mappings.ts";
import type { Collection, CollectionOptions, DocumentStore, JsonObject } from "../../src/dendrite/mod.ts";
import { documentStoreContract } from "../contracts/document_store_contract.ts";
import { FakeElasticsearch } from "./fake_elasticsearch.ts";

const url = Deno.env.get("ELASTICSEARCH_URL");
const skip = url ? false : "ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)";
if (skip) console.log(`Skipping the tests against a real Elasticsearch: ${skip}`);

/** A store on the real server under a fresh prefix; close() deletes the indices it used, by name. */
class RealStore implements DocumentStore {
  readonly client = new Client({ node: url ?? "http://localhost:9200" });
  readonly inner = new ElasticsearchDocumentStore({
    client: this.client,
    indexPrefix: `dendrite-test-${crypto.randomUUID().slice(0, 8)}-`,
  });
  readonly #indices = new Set<string>();

  collection<T extends JsonObject>(name: string, options?: CollectionOptions): Collection<T> {
    this.#indices.add(this.inner.indexOf(name));
    return this.inner.collection<T>(name, options);
  }

  unitOfWork<T>(work: () => Promise<T>): Promise<T> {
    return this.inner.unitOfWork(work);
  }

  async close(): Promise<void> {
    // Wildcard deletes are refused by default (action.destructive_requires_name): delete by name.
    if (this.#indices.size > 0) {
      await this.client.indices.delete({ index: [...this.#indices], ignore_unavailable: true });
    }
    await this.client.close();
  }
}

function realStore(): { store: RealStore; close(): Promise<void> } {
  const store = new RealStore();
  return { store, close: () => store.close() };
}

documentStoreContract("Elasticsearch", () => Promise.resolve(realStore()), { skip });

type Note = { title: string; body: string; rank: number };

Deno.test({
  name: "Elasticsearch: a mapping conflict is an error naming the document, in a unit and alone",
  ignore: Boolean(skip),
  async fn() {
    const { store, close } = realStore();
    try {
      const notes = store.collection<JsonLike>("conflicts");
      await notes.put("number", { rank: 1 });
      const alone = await assertRejects(() => notes.put("text", { rank: "high" }), BulkWriteError);
      assertEquals(alone.rejected.map((r) => [r.id, r.status]), [["text", 400]]);
      assert(alone.message.includes('"text"'), alone.message);
      const unit = await assertRejects(
        () =>
          store.unitOfWork(async () => {
            await notes.putMany([
              { id: "ok-1", document: { rank: 2 } },
              { id: "bad-1", document: { rank: "x" } },
              { id: "bad-2", document: { rank: { nested: true } } },
            ]);
          }),
        BulkWriteError,
      );
      assertEquals(unit.rejected.map((r) => r.id), ["bad-1", "bad-2"]);
      assertEquals(unit.total, 3);
      assert(unit.message.includes('"bad-1"') && unit.message.includes('"bad-2"'), unit.message);
      // The accepted write is there, the refused ones are not: nothing vanished without an error.
      assertEquals(await notes.get("ok-1"), { rank: 2 });
      assertEquals(await notes.get("bad-1"), undefined);
    } finally {
      await close();
    }
  },
});

Deno.test({
  name: "Elasticsearch: a write is visible to a second client as soon as it returns",
  ignore: Boolean(skip),
  async fn() {
    const { store, close } = realStore();
    const other = new Client({ node: url! });
    try {
      const notes = store.collection<Note>("visible", { textFields: ["body"] });
      const index = store.inner.indexOf("visible");
      const seen = async (q: string) =>
        (await other.search({ index, query: toSearchQuery(q)!, size: 10 })).hits.hits.map((h) => h._id);
      await notes.put("1", { title: "", body: "fresh words", rank: 1 });
      assertEquals(await seen("fresh"), ["1"]);
      await store.unitOfWork(() =>
        notes.putMany([{ id: "2", document: { title: "", body: "batch words", rank: 2 } }])
      );
      assertEquals(await seen("batch"), ["2"]);
    } finally {
      await other.close();
      await close();
    }
  },
});

type JsonLike = { rank: number | string | { nested: boolean } };

Deno.test("toSearchQuery() maps the shared syntax to phrases and prefixes of words only", () => {
  assertEquals(toSearchQuery('Hello "big World" greet*'), {
    bool: {
      must: [
        { match_phrase: { words: "hello" } },
        { match_phrase: { words: "big world" } },
        { prefix: { words: "greet" } },
      ],
    },
  });
  assertEquals(toSearchQuery("it's a:b -x NOT"), {
    bool: {
      must: [
        { match_phrase: { words: "it s" } },
        { match_phrase: { words: "a b" } },
        { match_phrase: { words: "x" } },
        { match_phrase: { words: "not" } },
      ],
    },
  });
  assertEquals(toSearchQuery('" * \\'), undefined);
});

Deno.test("ElasticsearchDocumentStore creates one index per collection with core-only mappings", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client, indexPrefix: "app-" });
  const notes = store.collection<Note>("Notes", { textFields: ["title", "body"] });
  await notes.put("a", { title: "t", body: "b", rank: 1 });
  const created = fake.sent("/app-notes", "PUT")[0];
  assertEquals(created.body, { mappings: collectionMappings() });
  assertEquals(JSON.stringify(created.body).includes("tokenizer"), false, "no custom analysis");
  await store.collection<Note>("Notes").count(); // the same collection: the index is created once
  assertEquals(fake.sent("/app-notes", "PUT").filter((r) => r.path === "/app-notes").length, 1);
  // Another store (another process) finds the index there already and goes on.
  await new ElasticsearchDocumentStore({ client: fake.client, indexPrefix: "app-" }).collection<Note>("notes")
    .count();
  assertEquals(fake.sent("/app-notes", "PUT").filter((r) => r.path === "/app-notes").length, 2);
  assertThrows(() => store.collection("bad name"), "cannot be an Elasticsearch index name");
});

Deno.test("ElasticsearchDocumentStore writes ids as given, the words of the text fields, refreshed", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client });
  const notes = store.collection<Note>("notes", { textFields: ["title", "body"] });
  const tricky = { title: 'say "hi"', body: 'back\\slash\nnew line {"json": true}', rank: 2 };
  await notes.put("event-1", tricky);
  const [put] = fake.sent("/_bulk");
  assertEquals(put.querystring?.refresh, "true");
  const lines = put.body as [unknown, { doc: Note; words: string }];
  assertEquals(lines[0], { index: { _index: "dendrite-notes", _id: "event-1" } });
  assertEquals(lines[1].doc, tricky);
  assertEquals(lines[1].words, "say hi back slash new line json true");
  assertEquals(await notes.get("event-1"), tricky);
  assertEquals(await notes.get("missing"), undefined);
});

Deno.test("ElasticsearchDocumentStore sends a unit of work as one bulk request at its end", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client });
  const notes = store.collection<Note>("notes", { textFields: ["body"] });
  const others = store.collection<Note>("others");
  await notes.count(); // creates the index
  await others.count();
  fake.requests.length = 0;
  await store.unitOfWork(async () => {
    await notes.putMany([
      { id: "x", document: { title: "x", body: "", rank: 3 } },
      { id: "y", document: { title: "y", body: "", rank: 1 } },
    ]);
    await others.put("o", { title: "o", body: "", rank: 0 });
    assertEquals(await notes.get("x"), { title: "x", body: "", rank: 3 }, "read inside the unit");
    assertEquals(fake.requests.length, 0, "nothing sent before the unit ends");
  });
  assertEquals(fake.requests.map((r) => r.path), ["/_bulk"]);
  const lines = fake.requests[0].body as { index?: { _index: string; _id: string }; order?: number }[];
  assertEquals(lines.filter((_, i) => i % 2 === 0), [
    { index: { _index: "dendrite-notes", _id: "x" } },
    { index: { _index: "dendrite-notes", _id: "y" } },
    { index: { _index: "dendrite-others", _id: "o" } },
  ]);
  assertEquals(lines[1].order! < lines[3].order!, true);
  // Reads never refresh: the writes did.
  fake.requests.length = 0;
  assertEquals((await notes.list({ orderBy: "rank" })).map((f) => f.id), ["y", "x"]);
  assertEquals(fake.requests.map((r) => r.path), ["/dendrite-notes/_search"]);
  assertEquals((fake.requests[0].body as { sort: unknown }).sort, [
    { "doc.rank": { order: "asc", unmapped_type: "keyword" } },
    { order: { order: "asc" } },
  ]);
});

Deno.test("ElasticsearchDocumentStore searches the words field and sends nothing for an empty search", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client });
  const notes = store.collection<Note>("notes", { textFields: ["title", "body"] });
  fake.searchResponder = (_index, body) =>
    "bool" in (body.query as Record<string, unknown>)
      ? {
        hits: {
          total: { value: 1 },
          hits: [{ _id: "1", _source: { doc: { title: "Hello", body: "", rank: 1 } } }],
        },
      }
      : undefined;
  const found = await notes.search('hello "big world" gre*', { limit: 5 });
  assertEquals(found, [{ id: "1", document: { title: "Hello", body: "", rank: 1 } }]);
  assertEquals(fake.sent("/dendrite-notes/_search")[0].body, {
    query: toSearchQuery('hello "big world" gre*'),
    size: 5,
  });
  fake.requests.length = 0;
  assertEquals(await notes.search('" * ('), []);
  assertEquals(fake.sent("/dendrite-notes/_search").length, 0, "an empty search sends nothing");
  await notes.list({ orderBy: "title", descending: true });
  assertEquals((fake.sent("/dendrite-notes/_search")[0].body as { sort: unknown[] }).sort[0], {
    "doc.title": { order: "desc", unmapped_type: "keyword" },
  });
});
