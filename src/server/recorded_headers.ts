/**
 * Response headers of a fast call that remember how they were made. Iterating a `Headers` sorts and combines its
 * list (a few microseconds each time), and a `Response` made from one iterates it again; most handlers only
 * `set` a header or two (a correlation id). These headers know whether they are empty without iterating, and
 * while only `set` was used they keep a plain record of their values that an answer can hand to `Response`.
 *
 * @module
 */

/**
 * `Headers` that know whether they are empty and, while only `set` was used, their values as a plain record.
 *
 * @example
 * ```ts
 * import { RecordedHeaders } from "./recorded_headers.ts";
 * const headers = new RecordedHeaders();
 * headers.set("X-Correlation-Id", "c-1");
 * console.log(headers.empty, headers.record); // false { "x-correlation-id": "c-1" }
 * ```
 */
export class RecordedHeaders extends Headers {
  /** Lower-case name → value of every `set` while nothing else changed the headers; else undefined. */
  #record: Record<string, string> | undefined = {};
  /** Whether nothing was added yet; undefined once a `delete` made it unknown. */
  #empty: boolean | undefined = true;

  override set(name: string, value: string): void {
    super.set(name, value);
    this.#empty = false;
    if (this.#record !== undefined) this.#record[name.toLowerCase()] = normalized(value);
  }

  override append(name: string, value: string): void {
    super.append(name, value);
    this.#empty = false;
    this.#record = undefined;
  }

  override delete(name: string): void {
    super.delete(name);
    if (this.#empty === false) this.#empty = undefined;
    this.#record = undefined;
  }

  /** Whether no header is set (iterates only after a `delete`). */
  get empty(): boolean {
    return this.#empty ?? holdsNone(this);
  }

  /** The headers as a plain record (lower-case names), when only `set` made them; else undefined. */
  get record(): Readonly<Record<string, string>> | undefined {
    return this.#record;
  }
}

/** A header value as `Headers` keeps it: without leading and trailing HTTP whitespace. */
function normalized(value: string): string {
  const edges = value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32;
  return edges ? value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "") : value;
}

/**
 * Whether `headers` holds no header: at once for {@link RecordedHeaders} (until a `delete`), else by iterating.
 *
 * @example
 * ```ts
 * import { isEmpty } from "./recorded_headers.ts";
 * console.log(isEmpty(new Headers())); // true
 * ```
 */
export function isEmpty(headers: Headers): boolean {
  return headers instanceof RecordedHeaders ? headers.empty : holdsNone(headers);
}

/** Whether iterating `headers` finds no header. */
function holdsNone(headers: Headers): boolean {
  for (const _ of headers.keys()) return false;
  return true;
}
