/**
 * Query-side benchmarks on a real Elasticsearch (`ELASTICSEARCH_URL`; skipped with a message without it): the
 * greeter projection's catch-up into the Elasticsearch query model next to a raw `_bulk` of the same documents
 * from this process in the same run, and Search latency on the 100,000 greetings it wrote.
 *
 * @module
 */
import { Client } from "@elastic/elasticsearch";
import {
  InMemoryDeadLetterQueue,
  type MessageRegistry,
  newMessageId,
  TrackingProcessor,
} from "../../src/dendrite/mod.ts";
import type { SqliteEventStore } from "../../src/dendrite/sqlite/mod.ts";
import {
  collectionMappings,
  ElasticsearchDocumentStore,
  ElasticsearchTokenStore,
} from "../../src/dendrite/elasticsearch/mod.ts";
import { indexedWords } from "../../src/dendrite/elasticsearch/mappings.ts";
import { greeterModel, greeterProjection } from "../../src/example/greeter/mod.ts";
import type { BenchRow } from "./harness.ts";

const BATCH = 5_000;
const SEARCHES = 300;

/** The floor: the same greeting documents (same shape, words, batch size and refresh) in bare `_bulk` requests. */
async function rawBulk(client: Client, index: string, count: number, greeters: number): Promise<number> {
  await client.indices.create({ index, mappings: collectionMappings() });
  const t0 = performance.now();
  for (let start = 0; start < count; start += BATCH) {
    const operations: unknown[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const doc = { message: `hello number ${i}`, greeterId: `greeter-${i % greeters}`, greetedAt: i };
      operations.push(
        { index: { _index: index, _id: newMessageId() } },
        { doc, order: i, words: indexedWords(doc, ["message"]) },
      );
    }
    const result = await client.bulk({ operations, refresh: true });
    if (result.errors) throw new Error("raw bulk refused documents");
  }
  return count / ((performance.now() - t0) / 1000);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Rows for the Elasticsearch query model; `events` already holds `last + 1` greeted events of `greeters`. */
export async function benchElasticsearch(
  events: SqliteEventStore,
  registry: MessageRegistry,
  last: number,
  greeters: number,
): Promise<BenchRow[]> {
  const url = Deno.env.get("ELASTICSEARCH_URL");
  if (!url) {
    console.log("Skipping the Elasticsearch query benchmarks: ELASTICSEARCH_URL is not set");
    return [];
  }
  const client = new Client({ node: url, requestTimeout: 120_000 });
  const prefix = `dendrite-bench-${crypto.randomUUID().slice(0, 8)}-`;
  const indices = ["raw", "greetings", "greeters", "tokens"].map((n) => `${prefix}${n}`);
  try {
    const count = last + 1;
    const rawRate = await rawBulk(client, `${prefix}raw`, count, greeters);
    const store = new ElasticsearchDocumentStore({ client, indexPrefix: prefix });
    const model = greeterModel(store);
    await model.greetings.count(); // create the indices before the clock starts, as the raw run did
    await model.greeters.count();
    const processor = new TrackingProcessor(greeterProjection(model), {
      eventStore: events,
      tokenStore: new ElasticsearchTokenStore({ client, index: `${prefix}tokens` }),
      deadLetters: new InMemoryDeadLetterQueue(),
      registry,
    });
    const t0 = performance.now();
    await processor.start();
    await processor.caughtUp(last);
    const rate = count / ((performance.now() - t0) / 1000);
    await processor.stop();

    const latencies: number[] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const query = i % 3 === 0
        ? `number ${(i * 7919) % count}`
        : i % 3 === 1
        ? `"hello number" ${i}*`
        : `hel* ${i}`;
      const s0 = performance.now();
      await model.greetings.search(query, { limit: 100 });
      latencies.push(performance.now() - s0);
    }
    latencies.sort((a, b) => a - b);
    const total = (await client.count({ index: `${prefix}greetings` })).count;
    if (total !== count) throw new Error(`the query model has ${total} greetings, not ${count}`);
    return [
      {
        scenario: `raw _bulk of the same ${
          count.toLocaleString("en-US")
        } greeting documents (Elasticsearch, ${BATCH.toLocaleString("en-US")} per request, refresh)`,
        metric: "documents/s",
        value: rawRate,
      },
      {
        scenario: "catch-up, greeter projection → Elasticsearch query model and tokens (in-process)",
        metric: "events/s",
        value: rate,
        limit: { name: "raw _bulk", value: rawRate },
        target: "≥ 50% of limit",
        met: rate >= 0.5 * rawRate,
      },
      {
        scenario: `Search on ${
          count.toLocaleString("en-US")
        } greetings in Elasticsearch (${SEARCHES} queries, ≤ 100 hits)`,
        metric: "p99 ms",
        value: percentile(latencies, 0.99),
        limit: { name: "p50 ms", value: percentile(latencies, 0.5) },
      },
    ];
  } finally {
    await client.indices.delete({ index: indices, ignore_unavailable: true }).catch(() => undefined);
    await client.close();
  }
}
