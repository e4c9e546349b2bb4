/**
 * Course enrolment, the DCB example: a student subscribes to a course only while the course has a free seat AND
 * the student has fewer than {@link MAX_COURSES_PER_STUDENT} courses. That rule spans two entities (a course and a
 * student), so no single aggregate can guard it; the decision's criteria cover both, and the conditional append
 * refuses a subscription when any event about that course or that student came in since it read.
 *
 * @example
 * ```ts
 * import { handleDecision, InMemoryDcbEventStore } from "../../dendrite/dcb/mod.ts";
 * import { createCourse, subscribeStudent } from "./decisions.ts";
 * const store = new InMemoryDcbEventStore();
 * await handleDecision(store, createCourse, { courseId: "dcb-101", capacity: 2 });
 * await handleDecision(store, subscribeStudent, { courseId: "dcb-101", studentId: "ada" });
 * ```
 *
 * @module
 */
import { DomainError } from "../../dendrite/core/errors.ts";
import { defineDecision, type Tag, tag } from "../../dendrite/dcb/mod.ts";

/** A student may follow at most this many courses. */
export const MAX_COURSES_PER_STUDENT = 3;

/** The enrolment events. */
export type EnrolmentEvent =
  | { readonly type: "CourseCreated"; readonly courseId: string; readonly capacity: number }
  | { readonly type: "StudentSubscribed"; readonly courseId: string; readonly studentId: string };

/** Domain error codes of the example. */
export const EnrolmentError = {
  COURSE_EXISTS: "EN001",
  NO_SUCH_COURSE: "EN002",
  COURSE_FULL: "EN003",
  ALREADY_SUBSCRIBED: "EN004",
  TOO_MANY_COURSES: "EN005",
  BAD_CAPACITY: "EN006",
} as const;

/** The tags of an event: the course it is about, and the student when there is one. */
export function enrolmentTags(event: EnrolmentEvent): Tag[] {
  const tags = [tag("course", event.courseId)];
  if (event.type === "StudentSubscribed") tags.push(tag("student", event.studentId));
  return tags;
}

/** Creates a course with a number of seats; refused when the course exists. */
export const createCourse = defineDecision<
  { readonly courseId: string; readonly capacity: number },
  boolean,
  EnrolmentEvent
>({
  name: "createCourse decision",
  criteria: (command) => [{ names: ["CourseCreated"], tags: [tag("course", command.courseId)] }],
  initialState: () => false,
  evolve: (exists, event) => exists || event.type === "CourseCreated",
  decide(command, exists) {
    if (!Number.isInteger(command.capacity) || command.capacity < 1) {
      throw new DomainError(EnrolmentError.BAD_CAPACITY, `A capacity must be a positive integer`, {
        kind: "invalid-argument",
      });
    }
    if (exists) throw new DomainError(EnrolmentError.COURSE_EXISTS, `Course "${command.courseId}" exists`);
    return [{ type: "CourseCreated", courseId: command.courseId, capacity: command.capacity }];
  },
  tags: enrolmentTags,
});

/** What subscribing needs to know: about the course, and about the student. */
export interface SubscriptionState {
  readonly courseId: string;
  readonly studentId: string;
  readonly capacity?: number;
  readonly seatsTaken: number;
  readonly studentCourses: number;
  readonly subscribed: boolean;
}

/** Subscribes a student to a course (the rule spanning both; see the module description). */
export const subscribeStudent = defineDecision<
  { readonly courseId: string; readonly studentId: string },
  SubscriptionState,
  EnrolmentEvent
>({
  name: "subscribeStudent decision",
  criteria: (command) => [
    { names: ["CourseCreated", "StudentSubscribed"], tags: [tag("course", command.courseId)] },
    { names: ["StudentSubscribed"], tags: [tag("student", command.studentId)] },
  ],
  initialState: (command) => ({ ...command, seatsTaken: 0, studentCourses: 0, subscribed: false }),
  evolve(state, event) {
    if (event.type === "CourseCreated") return { ...state, capacity: event.capacity };
    const course = event.courseId === state.courseId;
    const student = event.studentId === state.studentId;
    return {
      ...state,
      seatsTaken: state.seatsTaken + (course ? 1 : 0),
      studentCourses: state.studentCourses + (student ? 1 : 0),
      subscribed: state.subscribed || (course && student),
    };
  },
  decide(command, state) {
    const { courseId, studentId } = command;
    if (state.capacity === undefined) {
      throw new DomainError(EnrolmentError.NO_SUCH_COURSE, `No course "${courseId}"`, { kind: "not-found" });
    }
    if (state.subscribed) {
      throw new DomainError(
        EnrolmentError.ALREADY_SUBSCRIBED,
        `"${studentId}" already follows "${courseId}"`,
      );
    }
    if (state.seatsTaken >= state.capacity) {
      throw new DomainError(EnrolmentError.COURSE_FULL, `Course "${courseId}" is full`);
    }
    if (state.studentCourses >= MAX_COURSES_PER_STUDENT) {
      throw new DomainError(
        EnrolmentError.TOO_MANY_COURSES,
        `"${studentId}" already follows ${MAX_COURSES_PER_STUDENT} courses`,
      );
    }
    return [{ type: "StudentSubscribed", courseId, studentId }];
  },
  tags: enrolmentTags,
});
