import { assert, assertEquals } from "../../../test/assert.ts";
import {
  computeSegment,
  javaStringHash,
  mergeableSegmentId,
  mergeSegments,
  ROOT_SEGMENT,
  segmentMatches,
  splitSegment,
} from "./segment.ts";

Deno.test("javaStringHash equals Java's String.hashCode", () => {
  // Values computed by Java: "".hashCode() == 0, "hello".hashCode() == 99162322, "polygenelubricants" == MIN_VALUE.
  assertEquals(javaStringHash(""), 0);
  assertEquals(javaStringHash("hello"), 99162322);
  assertEquals(javaStringHash("polygenelubricants"), -2147483648);
  assertEquals(javaStringHash("Aa"), javaStringHash("BB"));
});

Deno.test("splitting and merging segments follows the Axon Framework", () => {
  assertEquals(splitSegment(ROOT_SEGMENT), [{ id: 0, mask: 1 }, { id: 1, mask: 1 }]);
  assertEquals(splitSegment({ id: 0, mask: 1 }), [{ id: 0, mask: 3 }, { id: 2, mask: 3 }]);
  assertEquals(splitSegment({ id: 1, mask: 1 }), [{ id: 1, mask: 3 }, { id: 3, mask: 3 }]);
  assertEquals(mergeableSegmentId({ id: 2, mask: 3 }), 0);
  assertEquals(mergeableSegmentId({ id: 1, mask: 1 }), 0);
  assertEquals(mergeSegments({ id: 0, mask: 3 }, { id: 2, mask: 3 }), { id: 0, mask: 1 });
});

Deno.test("computeSegment derives masks from the segment ids that exist", () => {
  assertEquals(computeSegment(0, [0]), ROOT_SEGMENT);
  assertEquals(computeSegment(0, [0, 1]), { id: 0, mask: 1 });
  assertEquals(computeSegment(1, [0, 1, 2]), { id: 1, mask: 1 });
  assertEquals(computeSegment(2, [0, 1, 2]), { id: 2, mask: 3 });
  assertEquals(computeSegment(0, [0, 1, 2]), { id: 0, mask: 3 });
});

Deno.test("every sequence identifier falls into exactly one of four segments", () => {
  const segments = [0, 1, 2, 3].map((id) => computeSegment(id, [0, 1, 2, 3]));
  for (let i = 0; i < 500; i++) {
    const id = `aggregate-${i}`;
    assertEquals(segments.filter((s) => segmentMatches(s, id)).length, 1);
  }
  assert(segmentMatches(ROOT_SEGMENT, "anything"));
});
