import { assertEquals } from "../../test/assert.ts";
import { isEmpty, RecordedHeaders } from "./recorded_headers.ts";

Deno.test("RecordedHeaders: empty until a header is added; a plain record while only set() made them", () => {
  const headers = new RecordedHeaders();
  assertEquals([headers.empty, isEmpty(headers), headers.record], [true, true, {}]);
  headers.set("X-Correlation-Id", "c-1");
  headers.set("x-correlation-id", "c-2");
  headers.set("Grpc-Status-Details-Bin", " \tAA \r\n");
  headers.set("x-empty", "");
  assertEquals(headers.empty, false);
  // Values as Headers keeps them (and as Object.fromEntries(headers) gives them).
  assertEquals(headers.record, { "x-correlation-id": "c-2", "grpc-status-details-bin": "AA", "x-empty": "" });
  assertEquals(headers.record, Object.fromEntries(headers));
  // What a Response makes of the record is what it makes of the headers themselves.
  const fromRecord = new Response(null, { headers: headers.record });
  assertEquals([...fromRecord.headers], [...headers]);
});

Deno.test("RecordedHeaders: append() and delete() end the record; emptiness stays right", () => {
  const appended = new RecordedHeaders();
  appended.append("set-cookie", "a=1");
  assertEquals([appended.empty, appended.record], [false, undefined]);

  const deleted = new RecordedHeaders();
  deleted.set("x-one", "1");
  deleted.delete("x-one");
  assertEquals([deleted.empty, isEmpty(deleted), deleted.record], [true, true, undefined]);
  deleted.set("x-two", "2");
  assertEquals([deleted.empty, deleted.record], [false, undefined]);

  const partly = new RecordedHeaders();
  partly.set("x-one", "1");
  partly.set("x-two", "2");
  partly.delete("x-one");
  assertEquals(partly.empty, false);

  const never = new RecordedHeaders();
  never.delete("x-absent");
  assertEquals(never.empty, true);
});

Deno.test("isEmpty(): plain Headers by iterating", () => {
  assertEquals(isEmpty(new Headers()), true);
  assertEquals(isEmpty(new Headers({ a: "1" })), false);
});
