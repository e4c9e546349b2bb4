/**
 * Flow control of streaming queries on the handler side (Axon Server API: `QueryFlowControl`, `query_cancel`).
 * A query whose request says both SERVER_SUPPORTS_STREAMING and CLIENT_SUPPORTS_STREAMING may only be answered
 * as the server grants permits for it; any other query is answered eagerly.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { ProcessingKey, type SerializedObject, SerializedObjectSchema } from "../../gen/axon/common_pb.ts";
import type { QueryRequest } from "../../gen/axon/query_pb.ts";

/**
 * The response type a streaming query carries for Axon Framework handlers, as Axon Framework's own streaming
 * queries send it: `MultipleInstancesResponseType` (what `PublisherResponseType.forSerialization()` gives) in the
 * JSON of Axon's `JacksonSerializer`, with `NR_OF_RESULTS` 1. A Java handler then streams its results one response
 * each; without it (and with `NR_OF_RESULTS` -1, scatter-gather) it answers one list. The element type is left
 * open (`java.lang.Object`): dendrite decodes each response by its own payload type.
 */
export const STREAMING_RESPONSE_TYPE: SerializedObject = create(SerializedObjectSchema, {
  type: "org.axonframework.messaging.responsetypes.MultipleInstancesResponseType",
  data: new TextEncoder().encode(JSON.stringify({ expectedResponseType: "java.lang.Object" })),
});

/** Whether a query must be answered under per-query flow control. */
export function isStreamingQuery(query: QueryRequest): boolean {
  const flag = (key: ProcessingKey) =>
    query.processingInstructions.some((i) =>
      i.key === key && i.value?.data.case === "booleanValue" && i.value.data.value
    );
  return flag(ProcessingKey.SERVER_SUPPORTS_STREAMING) && flag(ProcessingKey.CLIENT_SUPPORTS_STREAMING);
}

/** Permits of one streaming query: responses wait for them; a cancel ends the wait for good. */
export class ResponseGate {
  #permits = 0;
  #cancelled = false;
  #wake: (() => void) | undefined;

  /** The server granted more permits. */
  grant(permits: number): void {
    this.#permits += permits;
    this.#wake?.();
  }

  /** The caller went away: no more responses. */
  cancel(): void {
    this.#cancelled = true;
    this.#wake?.();
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Takes one permit, waiting for it; false when the query was cancelled (or `signal` aborted) meanwhile. */
  async take(signal: AbortSignal): Promise<boolean> {
    while (this.#permits === 0 && !this.#cancelled && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#wake = undefined;
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.#wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
    if (this.#cancelled || signal.aborted) return false;
    this.#permits--;
    return true;
  }
}
