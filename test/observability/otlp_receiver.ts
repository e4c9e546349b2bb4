/**
 * A test OTLP receiver: an HTTP server on an ephemeral loopback port that takes what Deno's built-in
 * OpenTelemetry exporter sends with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` (the OTLP JSON encoding) and keeps
 * the spans. Logs and metrics are accepted and dropped. A body in another encoding is answered 415 and recorded
 * as a failure, so a test cannot pass on spans it never read.
 *
 * @module
 */

/** One received span, flattened. */
export interface ReceivedSpan {
  readonly service: string;
  readonly scope: string;
  readonly name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly attributes: Readonly<Record<string, unknown>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: number;
}

/** OTLP span kinds. */
export const SpanKinds = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpValue {
  readonly stringValue?: string;
  readonly intValue?: string | number;
  readonly doubleValue?: number;
  readonly boolValue?: boolean;
}
interface OtlpAttribute {
  readonly key: string;
  readonly value: OtlpValue;
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly OtlpAttribute[];
  readonly links?: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly status?: { readonly code?: number };
}
interface OtlpTraces {
  readonly resourceSpans: readonly {
    readonly resource?: { readonly attributes?: readonly OtlpAttribute[] };
    readonly scopeSpans: readonly {
      readonly scope?: { readonly name?: string };
      readonly spans: readonly OtlpSpan[];
    }[];
  }[];
}

function valueOf(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue;
}

function attributesOf(list: readonly OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

/** The receiver. `endpoint` goes into `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests that could not be read (wrong encoding, bad JSON). */
  readonly failures: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #waiters = new Set<() => void>();

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#receive(request),
    );
  }

  /** `http://127.0.0.1:<port>` */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Environment for a Deno process that should export its spans here, quickly. */
  env(service: string): Record<string, string> {
    return {
      OTEL_DENO: "true",
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_DENO_CONSOLE: "ignore",
    };
  }

  async #receive(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const body = await request.text();
    if (path !== "/v1/traces") return Response.json({});
    if (!request.headers.get("content-type")?.startsWith("application/json")) {
      this.failures.push(`${path}: content-type ${request.headers.get("content-type")}`);
      this.#wake();
      return new Response("send http/json", { status: 415 });
    }
    try {
      this.#collect(JSON.parse(body) as OtlpTraces);
    } catch (error) {
      this.failures.push(`${path}: ${error}`);
    }
    this.#wake();
    return Response.json({});
  }

  #collect(traces: OtlpTraces): void {
    for (const resourceSpans of traces.resourceSpans) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)["service.name"] ?? "");
      for (const scopeSpans of resourceSpans.scopeSpans) {
        for (const span of scopeSpans.spans) {
          this.spans.push({
            service,
            scope: scopeSpans.scope?.name ?? "",
            name: span.name,
            kind: span.kind,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            attributes: attributesOf(span.attributes),
            status: span.status?.code ?? 0,
          });
        }
      }
    }
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Waits until `find` returns a value for the spans received so far (bounded by `timeoutMs`). */
  async waitFor<T>(
    find: (spans: readonly ReceivedSpan[]) => T | undefined,
    what: string,
    timeoutMs = 20_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      if (this.failures.length > 0) {
        throw new Error(`The OTLP receiver could not read: ${this.failures.join("; ")}`);
      }
      const found = find(this.spans);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const names = this.spans.map((s) => `${s.service}:${s.name}`).join(", ");
        throw new Error(`No ${what} within ${timeoutMs} ms; received: ${names}`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
