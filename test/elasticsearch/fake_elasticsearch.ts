/**
 * A small in-memory Elasticsearch behind `@elastic/elasticsearch-mock`: documents with `_seq_no`/`_primary_term`,
 * conditional index/delete (409 on a stale `if_seq_no`), create, get, mget, bulk, and searches with `term` /
 * `match_all` queries, one sort field, `from`/`size`. Enough to run the TokenStore contract against the adapter
 * and to record every request for assertions. Not a search engine: full-text queries are only recorded.
 *
 * toolchain.md workarounds: the error classes come from the mock's own copy of `@elastic/transport`, and the
 * mock's connection class is cast for the client.
 *
 * @module
 */
import { createRequire } from "node:module";
import { Client } from "@elastic/elasticsearch";

type Json = Record<string, unknown>;

/** One request as the mock saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly querystring: Record<string, string>;
  readonly body: unknown;
}

interface StoredDoc {
  source: Json;
  seqNo: number;
}

const require = createRequire(import.meta.resolve("@elastic/elasticsearch-mock"));
/** The part of the mock's API used here (its CommonJS typings do not survive Deno's default-import interop). */
interface ClientMock {
  add(
    pattern: { method: string | string[]; path: string | string[] },
    resolver: (params: Record<string, unknown>) => Record<string, unknown> | string,
  ): ClientMock;
  getConnection(): unknown;
}
const Mock = require("@elastic/elasticsearch-mock") as new () => ClientMock;
const transport = require("@elastic/transport") as {
  errors: {
    ResponseError: new (
      meta: { body: unknown; statusCode: number; headers?: Json; warnings: null; meta: Json },
    ) => Error;
  };
};

function responseError(statusCode: number, type: string, reason = type): Error {
  return new transport.errors.ResponseError({
    body: { error: { type, reason }, status: statusCode },
    statusCode,
    headers: {},
    warnings: null,
    meta: {},
  });
}

/** The fake: `client` talks to it; `requests` lists what was sent. */
export class FakeElasticsearch {
  readonly mock: ClientMock = new Mock();
  readonly requests: RecordedRequest[] = [];
  readonly indices = new Map<string, Map<string, StoredDoc>>();
  /** Canned search answers for full-text queries, by index. */
  searchResponder?: (index: string, body: Json) => Json | undefined;
  #seqNo = 0;
  readonly client: Client;

  constructor() {
    const record = (
      params: { method: string; path: string; querystring?: Record<string, string>; body?: unknown },
    ) =>
      this.requests.push({
        method: params.method,
        path: params.path,
        querystring: params.querystring ?? {},
        body: params.body ?? null,
      });
    type P = { method: string; path: string; querystring?: Record<string, string>; body?: unknown };
    const on = (method: string | string[], path: string | string[], fn: (params: P) => Json | Error) =>
      this.mock.add({ method, path }, (params) => {
        const p = params as unknown as P;
        record(p);
        return fn(p) as Json;
      });

    on("PUT", "/:index", (p) => {
      const index = p.path.split("/")[1];
      if (this.indices.has(index)) return responseError(400, "resource_already_exists_exception");
      this.indices.set(index, new Map());
      return { acknowledged: true, index };
    });
    on(["GET"], "/:index/_doc/:id", (p) => {
      const [, index, , id] = p.path.split("/");
      const doc = this.indices.get(index)?.get(id);
      if (!doc) return responseError(404, "not_found");
      return {
        _index: index,
        _id: id,
        found: true,
        _seq_no: doc.seqNo,
        _primary_term: 1,
        _source: doc.source,
      };
    });
    on(["PUT", "POST"], "/:index/_doc/:id", (p) => {
      const [, index, , id] = p.path.split("/");
      return this.#index(index, id, p.body as Json, p.querystring ?? {}, false);
    });
    on(["PUT", "POST"], "/:index/_create/:id", (p) => {
      const [, index, , id] = p.path.split("/");
      return this.#index(index, id, p.body as Json, p.querystring ?? {}, true);
    });
    on("DELETE", "/:index/_doc/:id", (p) => {
      const [, index, , id] = p.path.split("/");
      const docs = this.#docs(index);
      const doc = docs.get(id);
      if (!doc) return responseError(404, "not_found");
      const qs = p.querystring ?? {};
      if (qs.if_seq_no !== undefined && Number(qs.if_seq_no) !== doc.seqNo) {
        return responseError(409, "version_conflict_engine_exception");
      }
      docs.delete(id);
      return { _index: index, _id: id, result: "deleted" };
    });
    on(["GET", "POST"], "/:index/_mget", (p) => {
      const index = p.path.split("/")[1];
      const ids = (p.body as { ids: string[] }).ids;
      return {
        docs: ids.map((id) => {
          const doc = this.#docs(index).get(id);
          return doc
            ? {
              _index: index,
              _id: id,
              found: true,
              _seq_no: doc.seqNo,
              _primary_term: 1,
              _source: doc.source,
            }
            : { _index: index, _id: id, found: false };
        }),
      };
    });
    on(["PUT", "POST"], ["/_bulk", "/:index/_bulk"], (p) => {
      const lines = p.body as Json[];
      const items: Json[] = [];
      for (let i = 0; i < lines.length; i++) {
        const [action, meta] = Object.entries(lines[i])[0] as [string, { _index: string; _id: string }];
        if (action === "delete") {
          const existed = this.#docs(meta._index).delete(meta._id);
          items.push({ delete: { _index: meta._index, _id: meta._id, status: existed ? 200 : 404 } });
          continue;
        }
        const outcome = this.#index(meta._index, meta._id, lines[++i], {}, action === "create");
        items.push({
          [action]: outcome instanceof Error
            ? {
              _index: meta._index,
              _id: meta._id,
              status: 409,
              error: { type: "version_conflict_engine_exception" },
            }
            : { _index: meta._index, _id: meta._id, status: 201, result: "created" },
        });
      }
      return {
        took: 1,
        errors: items.some((item) => Object.values(item)[0] && "error" in (Object.values(item)[0] as Json)),
        items,
      };
    });
    on(["GET", "POST"], "/:index/_search", (p) => {
      const index = p.path.split("/")[1];
      const body = (p.body ?? {}) as Json;
      const canned = this.searchResponder?.(index, body);
      if (canned) return canned;
      let hits = [...this.#docs(index).entries()].filter(([, doc]) =>
        matches(doc.source, body.query as Json)
      );
      const sort = (body.sort as Json[] | undefined)?.[0];
      if (sort) {
        const [field, spec] = Object.entries(sort)[0];
        const desc = (typeof spec === "string" ? spec : (spec as Json).order) === "desc";
        hits = hits.sort(([, a], [, b]) =>
          compare(get(a.source, field), get(b.source, field)) * (desc ? -1 : 1)
        );
      }
      const from = Number(body.from ?? 0);
      const size = Number(body.size ?? 10);
      return {
        hits: {
          total: { value: hits.length, relation: "eq" },
          hits: hits.slice(from, from + size).map(([id, doc]) => ({
            _index: index,
            _id: id,
            _source: doc.source,
          })),
        },
      };
    });
    on(["GET", "POST"], "/:index/_count", (p) => ({ count: this.#docs(p.path.split("/")[1]).size }));
    on("POST", "/:index/_delete_by_query", (p) => {
      const docs = this.#docs(p.path.split("/")[1]);
      const deleted = docs.size;
      docs.clear();
      return { deleted };
    });
    on(["GET", "POST"], "/:index/_refresh", () => ({ _shards: { total: 1, successful: 1, failed: 0 } }));

    this.client = new Client({
      node: "http://fake-elasticsearch:9200",
      // toolchain.md: the mock's connection class comes from its own copy of the client's types.
      Connection: this.mock.getConnection() as unknown as ConstructorParameters<
        typeof Client
      >[0]["Connection"],
    });
  }

  #docs(index: string): Map<string, StoredDoc> {
    let docs = this.indices.get(index);
    if (!docs) this.indices.set(index, docs = new Map());
    return docs;
  }

  #index(index: string, id: string, source: Json, qs: Record<string, string>, create: boolean): Json | Error {
    const docs = this.#docs(index);
    const current = docs.get(id);
    if (create && current) return responseError(409, "version_conflict_engine_exception");
    if (qs.if_seq_no !== undefined && (!current || Number(qs.if_seq_no) !== current.seqNo)) {
      return responseError(409, "version_conflict_engine_exception");
    }
    const seqNo = ++this.#seqNo;
    docs.set(id, { source: structuredClone(source), seqNo });
    return {
      _index: index,
      _id: id,
      _seq_no: seqNo,
      _primary_term: 1,
      result: current ? "updated" : "created",
    };
  }

  /** Requests whose path starts with `prefix` (and method, when given). */
  sent(prefix: string, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix) && (!method || r.method === method));
  }
}

function get(source: Json, path: string): unknown {
  let value: unknown = source;
  for (const key of path.split(".")) value = (value as Json | undefined)?.[key];
  return value;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  return (a as number) < (b as number) ? -1 : 1;
}

function matches(source: Json, query: Json | undefined): boolean {
  if (!query || "match_all" in query) return true;
  if ("term" in query) {
    const [field, value] = Object.entries(query.term as Json)[0];
    return get(source, field) === value;
  }
  throw new Error(`The fake Elasticsearch does not evaluate ${JSON.stringify(query)}`);
}
