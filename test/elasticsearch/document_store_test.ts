/**
 * The Elasticsearch DocumentStore: the port contract against a real server when ELASTICSEARCH_URL is set, and
 * the requests it sends, checked against the mock-backed fake (index per collection with explicit mappings, bulk
 * writes, ids as given, JSON built by the client, simple_query_string from the shared search syntax).
 */
import { Client } from "@elastic/elasticsearch";
import { assertEquals, assertThrows } from "../assert.ts";
import {
  ANALYSIS_SETTINGS,
  collectionMappings,
  ElasticsearchDocumentStore,
  toSimpleQueryString,
} from "../../src/dendrite/elasticsearch/mod.ts";
import { documentStoreContract } from "../contracts/document_store_contract.ts";
import { FakeElasticsearch } from "./fake_elasticsearch.ts";

const url = Deno.env.get("ELASTICSEARCH_URL");

documentStoreContract("Elasticsearch", () => {
  const client = new Client({ node: url ?? "http://localhost:9200" });
  const indexPrefix = `dendrite-test-${crypto.randomUUID().slice(0, 8)}-`;
  return Promise.resolve({
    store: new ElasticsearchDocumentStore({ client, indexPrefix }),
    async close() {
      await client.indices.delete({ index: `${indexPrefix}*` }, { ignore: [404] });
      await client.close();
    },
  });
}, { skip: url ? false : "ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)" });

type Note = { title: string; body: string; rank: number };

Deno.test("toSimpleQueryString() maps the shared syntax to AND-ed phrases and prefixes only", () => {
  assertEquals(toSimpleQueryString('Hello "big World" greet*'), '"hello" "big world" greet*');
  assertEquals(
    toSimpleQueryString("it's (grouped) a:b -x {}[]^~ | + NOT"),
    '"it s" "grouped" "a b" "x" "not"',
  );
  assertEquals(toSimpleQueryString('" * \\'), undefined);
  assertEquals(toSimpleQueryString("ünïcode* 42"), '"42" ünïcode*');
});

Deno.test("ElasticsearchDocumentStore creates one index per collection with explicit mappings", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client, indexPrefix: "app-" });
  const notes = store.collection<Note>("Notes", { textFields: ["title", "body"] });
  await notes.put("a", { title: "t", body: "b", rank: 1 });
  const created = fake.sent("/app-notes", "PUT")[0];
  assertEquals(created.body, {
    settings: ANALYSIS_SETTINGS,
    mappings: collectionMappings(["title", "body"]),
  });
  assertEquals(collectionMappings(["title"]), {
    dynamic_templates: [{
      strings: {
        path_match: "doc.*",
        match_mapping_type: "string",
        mapping: { type: "keyword", ignore_above: 1024 },
      },
    }],
    properties: {
      order: { type: "long" },
      doc: {
        properties: {
          title: {
            type: "text",
            analyzer: "dendrite_text",
            fields: { keyword: { type: "keyword", ignore_above: 1024 } },
          },
        },
      },
    },
  });
  await store.collection<Note>("Notes").count(); // the same collection: the index is created once
  assertEquals(fake.sent("/app-notes", "PUT").filter((r) => r.path === "/app-notes").length, 1);
  // Another store (another process) finds the index there already and goes on.
  await new ElasticsearchDocumentStore({ client: fake.client, indexPrefix: "app-" }).collection<Note>("notes")
    .count();
  assertEquals(fake.sent("/app-notes", "PUT").filter((r) => r.path === "/app-notes").length, 2);
  assertThrows(() => store.collection("bad name"), "cannot be an Elasticsearch index name");
});

Deno.test("ElasticsearchDocumentStore writes ids as given, JSON built by the client, many in one bulk", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client });
  const notes = store.collection<Note>("notes", { textFields: ["body"] });
  const tricky = { title: 'say "hi"', body: 'back\\slash\nnew line {"json": true}', rank: 2 };
  await notes.put("event-1", tricky);
  const put = fake.sent("/dendrite-notes/_doc/event-1", "PUT")[0];
  assertEquals((put.body as { doc: Note }).doc, tricky);
  assertEquals(await notes.get("event-1"), tricky);
  assertEquals(await notes.get("missing"), undefined);

  fake.requests.length = 0;
  await notes.putMany([
    { id: "x", document: { title: "x", body: "", rank: 3 } },
    { id: "y", document: { title: "y", body: "", rank: 1 } },
  ]);
  const [bulk] = fake.sent("/_bulk");
  const lines = bulk.body as { index?: { _index: string; _id: string }; doc?: Note; order?: number }[];
  assertEquals(lines.filter((_, i) => i % 2 === 0), [
    { index: { _index: "dendrite-notes", _id: "x" } },
    { index: { _index: "dendrite-notes", _id: "y" } },
  ]);
  assertEquals(lines[1].doc, { title: "x", body: "", rank: 3 });
  assertEquals(lines[1].order! < lines[3].order!, true);
  assertEquals(fake.requests.length, 1, "one request for many documents");

  // Read-your-writes: a search after writes refreshes first; a second read does not.
  fake.requests.length = 0;
  assertEquals((await notes.list({ orderBy: "rank" })).map((f) => f.id), ["y", "event-1", "x"]);
  await notes.count();
  assertEquals(fake.requests.map((r) => r.path), [
    "/dendrite-notes/_refresh",
    "/dendrite-notes/_search",
    "/dendrite-notes/_count",
  ]);
  assertEquals((fake.sent("/dendrite-notes/_search")[0].body as { sort: unknown }).sort, [
    { "doc.rank": { order: "asc", unmapped_type: "keyword" } },
    { order: { order: "asc" } },
  ]);
  assertEquals(await notes.delete("x"), true);
  assertEquals(await notes.delete("x"), false);
});

Deno.test("ElasticsearchDocumentStore searches with simple_query_string over the text fields", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchDocumentStore({ client: fake.client });
  const notes = store.collection<Note>("notes", { textFields: ["title", "body"] });
  fake.searchResponder = (_index, body) =>
    "simple_query_string" in (body.query as Record<string, unknown>)
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
    query: {
      simple_query_string: {
        query: '"hello" "big world" gre*',
        fields: ["doc.title", "doc.body"],
        default_operator: "and",
        flags: "PHRASE|PREFIX|WHITESPACE",
      },
    },
    size: 5,
  });
  fake.requests.length = 0;
  assertEquals(await notes.search('" * ('), []);
  assertEquals(fake.sent("/dendrite-notes/_search").length, 0, "an empty search sends nothing");
  await notes.list({ orderBy: "title", descending: true });
  assertEquals((fake.sent("/dendrite-notes/_search")[0].body as { sort: unknown[] }).sort[0], {
    "doc.title.keyword": { order: "desc", unmapped_type: "keyword" },
  });
});
