/**
 * Reading Elasticsearch client errors without depending on one copy of `@elastic/transport` (a test mock may
 * bring its own): the HTTP status and the error type are read structurally.
 *
 * @module
 */

/** The HTTP status of an Elasticsearch response error, or undefined for other errors. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("meta" in error)) return undefined;
  const meta = (error as { meta?: { statusCode?: unknown } }).meta;
  return typeof meta?.statusCode === "number" ? meta.statusCode : undefined;
}

/** The Elasticsearch error type (e.g. `resource_already_exists_exception`), when the error carries one. */
export function errorTypeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("meta" in error)) return undefined;
  const body = (error as { meta?: { body?: { error?: { type?: unknown } } } }).meta?.body;
  return typeof body?.error?.type === "string" ? body.error.type : undefined;
}

/** Creates an index unless it exists (another process may create it at the same time). */
export async function ensureIndex(
  client: import("@elastic/elasticsearch").Client,
  index: string,
  body: { mappings: object; settings?: Record<string, unknown> },
): Promise<void> {
  try {
    await client.indices.create({ index, ...body });
  } catch (error) {
    if (statusOf(error) === 400 && errorTypeOf(error) === "resource_already_exists_exception") return;
    throw error;
  }
}

/**
 * One write Elasticsearch refused in a bulk request.
 *
 * @example
 * ```ts
 * import { BulkWriteError, type RejectedWrite } from "./mod.ts";
 * const report = (error: unknown): string[] => {
 *   if (!(error instanceof BulkWriteError)) return [];
 *   return error.rejected.map((write: RejectedWrite) => `${write.index}/${write.id}: ${write.reason}`);
 * };
 * ```
 */
export interface RejectedWrite {
  /** The index of the rejected document. */
  readonly index: string;
  /** The id of the rejected document. */
  readonly id: string;
  /** The HTTP status Elasticsearch gave the item. */
  readonly status: number;
  /** The Elasticsearch error type, e.g. `document_parsing_exception`. */
  readonly type: string;
  /** Elasticsearch's reason for the rejection. */
  readonly reason: string;
}

/**
 * Elasticsearch refused some writes of a bulk request (a mapping conflict, a rejected item). The others were
 * written; nothing is dropped silently: the error names every refused document.
 *
 * @example
 * ```ts
 * import { BulkWriteError } from "./errors.ts";
 * const error = new BulkWriteError([{ index: "dendrite-greetings", id: "1", status: 400, type: "mapper_parsing_exception", reason: "bad" }], 2);
 * console.log(error.rejected.length); // 1
 * ```
 */
export class BulkWriteError extends Error {
  /** The writes Elasticsearch rejected. */
  readonly rejected: readonly RejectedWrite[];
  /** How many writes the bulk request carried. */
  readonly total: number;

  /** `rejected` of `total` writes of one bulk request failed. */
  constructor(rejected: readonly RejectedWrite[], total: number) {
    const shown = rejected.slice(0, 5).map((r) =>
      `"${r.id}" in ${r.index} (${r.status} ${r.type}: ${r.reason})`
    );
    const more = rejected.length > shown.length ? `, and ${rejected.length - shown.length} more` : "";
    super(`Elasticsearch refused ${rejected.length} of ${total} writes: ${shown.join(", ")}${more}`);
    this.name = "BulkWriteError";
    this.rejected = rejected;
    this.total = total;
  }
}

/** Sends a bulk request and throws a {@link BulkWriteError} naming every item Elasticsearch refused. */
export async function sendBulk(
  client: import("@elastic/elasticsearch").Client,
  operations: readonly unknown[],
  refresh: boolean,
): Promise<void> {
  if (operations.length === 0) return;
  const result = await client.bulk({ operations: operations as unknown[], refresh });
  if (!result.errors) return;
  const rejected: RejectedWrite[] = [];
  for (const item of result.items) {
    for (const outcome of Object.values(item)) {
      if (!outcome?.error) continue;
      rejected.push({
        index: outcome._index,
        id: outcome._id ?? "",
        status: outcome.status,
        type: outcome.error.type,
        reason: outcome.error.reason ?? "",
      });
    }
  }
  throw new BulkWriteError(rejected, result.items.length);
}
