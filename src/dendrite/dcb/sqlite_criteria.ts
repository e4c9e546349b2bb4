/**
 * SQL of criteria for the SQLite DCB store: each criterion becomes a lookup of sequences through an index (the
 * tag table's primary key `(key, value, sequence)` when it has tags, `(name, sequence)` when it has names only),
 * the criteria are OR-ed as a UNION, and the events are read by primary key.
 *
 * @module
 */
import type { SQLInputValue } from "node:sqlite";
import type { Criterion } from "./dcb_event_store.ts";

/** A query and its parameters. */
export interface SqlQuery {
  readonly sql: string;
  readonly params: SQLInputValue[];
}

/** Sequences in `[from, to)` matching one criterion, in order, at most `limit`. */
function criterionSql(criterion: Criterion, from: number, to: number, limit: number): SqlQuery {
  const names = [...new Set(criterion.names)];
  const nameList = names.map(() => "?").join(", ");
  if (criterion.tags.length === 0) {
    const where = names.length > 0 ? `name IN (${nameList}) AND ` : "";
    return {
      sql:
        `SELECT sequence FROM dcb_events WHERE ${where}sequence >= ? AND sequence < ? ORDER BY sequence LIMIT ?`,
      params: [...names, from, to, limit],
    };
  }
  const [first, ...rest] = criterion.tags;
  const joins = rest.map((_, i) =>
    `JOIN dcb_tags t${i + 1} ON t${i + 1}.key = ? AND t${i + 1}.value = ? AND t${
      i + 1
    }.sequence = t0.sequence`
  );
  const params: SQLInputValue[] = rest.flatMap((t) => [t.key, t.value]);
  if (names.length > 0) {
    joins.push(`JOIN dcb_events e ON e.sequence = t0.sequence AND e.name IN (${nameList})`);
    params.push(...names);
  }
  return {
    sql: `SELECT t0.sequence AS sequence FROM dcb_tags t0 ${
      joins.join(" ")
    } WHERE t0.key = ? AND t0.value = ? AND t0.sequence >= ? AND t0.sequence < ? ORDER BY t0.sequence LIMIT ?`,
    params: [...params, first.key, first.value, from, to, limit],
  };
}

/** Sequences in `[from, to)` matching any of `criteria` (every event when empty), in order, at most `limit`. */
export function matchingSequencesSql(
  criteria: readonly Criterion[],
  from: number,
  to: number,
  limit: number,
): SqlQuery {
  const parts = (criteria.length > 0 ? criteria : [{ names: [], tags: [] }]).map((c) =>
    criterionSql(c, from, to, limit)
  );
  if (parts.length === 1) return parts[0];
  return {
    sql: `SELECT sequence FROM (${
      parts.map((p) => `SELECT * FROM (${p.sql})`).join(" UNION ")
    }) ORDER BY sequence LIMIT ?`,
    params: [...parts.flatMap((p) => p.params), limit],
  };
}
