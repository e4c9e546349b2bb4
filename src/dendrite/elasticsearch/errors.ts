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
  body: { mappings: Record<string, unknown>; settings?: Record<string, unknown> },
): Promise<void> {
  try {
    await client.indices.create({ index, ...body });
  } catch (error) {
    if (statusOf(error) === 400 && errorTypeOf(error) === "resource_already_exists_exception") return;
    throw error;
  }
}
