/**
 * The Elasticsearch TokenStore: the port contract against a real server when ELASTICSEARCH_URL is set, the same
 * contract against the mock-backed fake, and the requests it sends (index, if_seq_no/if_primary_term, refresh).
 */
import { Client } from "@elastic/elasticsearch";
import { assert, assertEquals } from "../assert.ts";
import { ElasticsearchTokenStore } from "../../src/dendrite/elasticsearch/mod.ts";
import { tokenStoreContract } from "../contracts/token_store_contract.ts";
import { FakeElasticsearch } from "./fake_elasticsearch.ts";

const url = Deno.env.get("ELASTICSEARCH_URL");

tokenStoreContract("Elasticsearch", (clock) => {
  const client = new Client({ node: url ?? "http://localhost:9200" });
  const index = `dendrite-test-tokens-${crypto.randomUUID().slice(0, 8)}`;
  return Promise.resolve({
    store: new ElasticsearchTokenStore({ client, index, now: clock.now }),
    async close() {
      await client.indices.delete({ index }, { ignore: [404] });
      await client.close();
    },
  });
}, { skip: url ? false : "ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)" });

tokenStoreContract("Elasticsearch (mock)", (clock) => {
  const fake = new FakeElasticsearch();
  return Promise.resolve({
    store: new ElasticsearchTokenStore({ client: fake.client, index: "tokens", now: clock.now }),
    close: () => Promise.resolve(),
  });
});

Deno.test("ElasticsearchTokenStore writes conditionally with if_seq_no/if_primary_term and refreshes only structure", async () => {
  const fake = new FakeElasticsearch();
  const store = new ElasticsearchTokenStore({ client: fake.client, index: "my-tokens" });
  try {
    await store.initializeSegments("greetings", 2);
    assertEquals(fake.sent("/my-tokens", "PUT")[0].body, {
      mappings: {
        dynamic: "strict",
        properties: {
          processor: { type: "keyword" },
          segment: { type: "integer" },
          owner: { type: "keyword" },
          claimedAt: { type: "long" },
          token: {
            properties: {
              index: { type: "long" },
              replayUntil: { type: "long" },
              mergedUpper: { type: "long" },
              mergedUpperSegment: { type: "integer" },
              mergedUpperMask: { type: "integer" },
            },
          },
        },
      },
    });
    const bulk = fake.sent("/_bulk")[0];
    assertEquals(bulk.querystring.refresh, "true");
    assertEquals((bulk.body as unknown[])[0], { create: { _index: "my-tokens", _id: "greetings:0" } });

    fake.requests.length = 0;
    await store.claim("greetings", 0, "a", 10_000);
    const [read, write] = fake.requests;
    assertEquals([read.method, read.path], ["GET", "/my-tokens/_doc/greetings:0"]);
    assertEquals([write.method, write.path], ["PUT", "/my-tokens/_doc/greetings:0"]);
    assertEquals(write.querystring.refresh, "false");
    assert(write.querystring.if_seq_no !== undefined && write.querystring.if_primary_term === "1");
    assertEquals((write.body as { owner: string }).owner, "a");

    fake.requests.length = 0;
    await store.store("greetings", 0, "a", { index: 41 });
    const stored = fake.sent("/my-tokens/_doc/greetings:0", "PUT")[0];
    assertEquals((stored.body as { token: unknown }).token, { index: 41 });
    assert(stored.querystring.if_seq_no !== undefined);

    // A write that lost the race (stale seq_no) is retried after a fresh read.
    const doc = fake.indices.get("my-tokens")!.get("greetings:0")!;
    let raced = false;
    const original = fake.client.get.bind(fake.client);
    fake.client.get = ((params: Parameters<typeof original>[0]) => {
      if (raced) return original(params);
      raced = true;
      // Another writer changes the document after our read.
      return original(params).then((response) => {
        doc.seqNo += 100;
        return response;
      });
    }) as typeof fake.client.get;
    fake.requests.length = 0;
    await store.extend("greetings", 0, "a");
    assertEquals(fake.requests.filter((r) => r.method === "PUT").length, 2);

    fake.requests.length = 0;
    await store.initializeSegment("greetings", 2, { index: 41 });
    assertEquals(fake.sent("/my-tokens/_create/greetings:2")[0].querystring.refresh, "true");
    await store.claim("greetings", 2, "a", 10_000);
    fake.requests.length = 0;
    await store.deleteSegment("greetings", 2, "a");
    const deleted = fake.sent("/my-tokens/_doc/greetings:2", "DELETE")[0];
    assertEquals(deleted.querystring.refresh, "true");
    assert(deleted.querystring.if_seq_no !== undefined && deleted.querystring.if_primary_term === "1");
  } finally {
    fake.requests.length = 0; // the mock connection has no close()
  }
});
