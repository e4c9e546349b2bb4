/**
 * Elasticsearch unavailability as a {@link TransientError}: the adapters' client is wrapped so that connection
 * errors, timeouts, "no living connections" and the statuses 429/502/503/504 reach the caller as a
 * `TransientError` (the original error is its `cause`); every other error passes unchanged.
 *
 * @module
 */
import type { Client } from "@elastic/elasticsearch";
import { TransientError } from "../core/errors.ts";
import { statusOf } from "./errors.ts";

const TRANSIENT_NAMES = new Set(["ConnectionError", "TimeoutError", "NoLivingConnectionsError"]);
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

/** The error as a `TransientError` when it says Elasticsearch is unavailable, else the error itself. */
export function asTransient(error: unknown): unknown {
  if (error instanceof TransientError || !(error instanceof Error)) return error;
  const status = statusOf(error);
  if (TRANSIENT_NAMES.has(error.name) || (status !== undefined && TRANSIENT_STATUSES.has(status))) {
    return new TransientError(`Elasticsearch unavailable: ${error.name}: ${error.message}`, { cause: error });
  }
  return error;
}

function rethrowTransient(error: unknown): never {
  throw asTransient(error);
}

/**
 * The client with every API call (namespaces such as `indices` included) translating its failure through
 * {@link asTransient}. Calls resolve to exactly what the client's own do.
 */
export function withTransientErrors(client: Client): Client {
  return wrap(client) as Client;
}

function wrap(target: object): object {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value === "function") {
        return (...args: unknown[]) => {
          const result: unknown = Reflect.apply(value, object, args);
          return result instanceof Promise ? result.catch(rethrowTransient) : result;
        };
      }
      // API namespaces (client.indices, …) are objects created by getters: wrap them too.
      return typeof value === "object" && value !== null && property !== "transport" &&
          property !== "connectionPool"
        ? wrap(value)
        : value;
    },
  });
}
