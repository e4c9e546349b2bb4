/**
 * The greeter history the multi-process tests append and compare: rounds of 20 greeters' events written
 * straight into a SQLite event store, and a sorted dump of the greeter query model to compare two models.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { type EventRecord, type JsonObject, MessageRegistry } from "../../src/dendrite/mod.ts";
import type { SqliteEventStore } from "../../src/dendrite/sqlite/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";

/** The registry of the history's events. */
export const historyRegistry = new MessageRegistry([
  domain.GreetedEventSchema,
  domain.RecordingStoppedEventSchema,
  domain.RecordingStartedEventSchema,
]);

/** Appends one round: an event for each of 20 greeters (every third round stops a quarter of them). */
export async function appendRound(
  store: SqliteEventStore,
  sequences: Map<string, number>,
  round: number,
): Promise<void> {
  const batch: EventRecord[] = [];
  for (let g = 0; g < 20; g++) {
    const id = `greeter-${g}`;
    const sequence = (sequences.get(id) ?? -1) + 1;
    sequences.set(id, sequence);
    const payload = round % 3 === 2 && g % 4 === 0
      ? create(domain.RecordingStoppedEventSchema, { greeterId: id })
      : create(domain.GreetedEventSchema, {
        greeterId: id,
        message: `hello ${round} from ${id} "quoted" \\`,
      });
    batch.push({
      id: crypto.randomUUID(),
      timestamp: 1_700_000_000_000 + round * 100 + g,
      payload: historyRegistry.encode(payload),
      metadata: {},
      aggregate: { type: "example.v1.Greeter", id, sequence },
    });
  }
  await store.append(batch);
}

/** A document store as far as {@link allDocuments} reads it. */
export interface ListableStore {
  collection<T extends JsonObject>(
    name: string,
  ): { list(o: { limit: number }): Promise<{ id: string; document: T }[]> };
}

/** The greetings and greeters collections, each sorted by id. */
export async function allDocuments(
  store: ListableStore,
  limit = 100_000,
): Promise<Record<string, [string, JsonObject][]>> {
  const out: Record<string, [string, JsonObject][]> = {};
  for (const name of ["greetings", "greeters"]) {
    const found = await store.collection<JsonObject>(name).list({ limit });
    out[name] = found.map((f): [string, JsonObject] => [f.id, f.document]).sort(([a], [b]) => a < b ? -1 : 1);
  }
  return out;
}
