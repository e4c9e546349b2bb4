import { decisionSpec } from "../../dendrite/dcb/decision_spec.ts";
import { createCourse, type EnrolmentEvent, subscribeStudent } from "./decisions.ts";

const course = (courseId: string, capacity = 2): EnrolmentEvent => ({
  type: "CourseCreated",
  courseId,
  capacity,
});
const subscribed = (courseId: string, studentId: string): EnrolmentEvent => ({
  type: "StudentSubscribed",
  courseId,
  studentId,
});

Deno.test("createCourse decides CourseCreated for a new course", () =>
  decisionSpec(createCourse).given(course("other")).when({ courseId: "c1", capacity: 3 }).thenEvents(
    course("c1", 3),
  ));

Deno.test("createCourse refuses a course that exists, and a capacity below 1", async () => {
  await decisionSpec(createCourse).given(course("c1")).when({ courseId: "c1", capacity: 3 }).thenError(
    "EN001",
  );
  await decisionSpec(createCourse).given().when({ courseId: "c1", capacity: 0 }).thenError("EN006");
});

Deno.test("subscribeStudent subscribes to a course with a free seat", () =>
  decisionSpec(subscribeStudent)
    .given(course("c1", 2), subscribed("c1", "bob"))
    .when({ courseId: "c1", studentId: "ada" })
    .thenEvents(subscribed("c1", "ada")));

Deno.test("subscribeStudent refuses an unknown course", () =>
  decisionSpec(subscribeStudent).given(course("c2")).when({ courseId: "c1", studentId: "ada" }).thenError(
    "EN002",
  ));

Deno.test("subscribeStudent refuses a full course: the course's boundary", () =>
  decisionSpec(subscribeStudent)
    .given(course("c1", 2), subscribed("c1", "bob"), subscribed("c1", "eve"), subscribed("c2", "zed"))
    .when({ courseId: "c1", studentId: "ada" })
    .thenError("EN003", "full"));

Deno.test("subscribeStudent refuses a student with three courses: the student's boundary", () =>
  decisionSpec(subscribeStudent)
    .given(
      course("c1"),
      course("c2"),
      course("c3"),
      course("c4"),
      subscribed("c2", "ada"),
      subscribed("c3", "ada"),
      subscribed("c4", "ada"),
    )
    .when({ courseId: "c1", studentId: "ada" })
    .thenError("EN005"));

Deno.test("subscribeStudent refuses a second subscription to the same course", () =>
  decisionSpec(subscribeStudent)
    .given(course("c1"), subscribed("c1", "ada"))
    .when({ courseId: "c1", studentId: "ada" })
    .thenError("EN004"));

Deno.test("subscribeStudent ignores other students' courses and other courses' seats", () =>
  decisionSpec(subscribeStudent)
    .given(
      course("c1", 1),
      course("c2", 1),
      subscribed("c2", "bob"),
      subscribed("c3", "bob"),
      subscribed("c4", "bob"),
    )
    .when({ courseId: "c1", studentId: "ada" })
    .thenEvents(subscribed("c1", "ada")));
