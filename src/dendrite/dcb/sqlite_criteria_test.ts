import { DatabaseSync } from "node:sqlite";
import { assert } from "../../../test/assert.ts";
import { tag } from "./dcb_event_store.ts";
import { SqliteDcbEventStore } from "./sqlite.ts";
import { matchingSequencesSql } from "./sqlite_criteria.ts";

/** The query plan of sourcing `criteria`, from a store file with the real schema. */
async function plan(criteria: Parameters<typeof matchingSequencesSql>[0]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dcb-plan-" });
  try {
    const path = `${dir}/dcb.sqlite`;
    new SqliteDcbEventStore({ path }).close();
    const db = new DatabaseSync(path);
    const query = matchingSequencesSql(criteria, 0, 1_000, 100);
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as { detail: string }[];
    db.close();
    return rows.map((r) => r.detail).join("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sourcing by tags and names looks sequences up by index, never scanning the events", async () => {
  const detail = await plan([
    { names: ["StudentSubscribed"], tags: [tag("course", "c1"), tag("student", "s1")] },
    { names: ["CourseCreated"], tags: [] },
  ]);
  assert(!/SCAN dcb_events|SCAN e\b|SCAN t\d/.test(detail), detail);
  assert(/SEARCH t0 USING PRIMARY KEY/.test(detail), detail);
  assert(/dcb_events_name/.test(detail), detail);
});
