/**
 * The enrolment example's decisions against soma over gRPC, from two separate connections racing: the course's
 * capacity and the student's course limit both hold under concurrent subscriptions, because each conditional
 * append covers both entities and losers decide again on what the winners stored.
 */
import { AxonConnection, AxonDcbEventStore } from "../../src/dendrite/axon/mod.ts";
import { DomainError } from "../../src/dendrite/mod.ts";
import { handleDecision } from "../../src/dendrite/dcb/mod.ts";
import { createCourse, subscribeStudent } from "../../src/example/enrolment/decisions.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { assert, assertEquals } from "../assert.ts";

async function withTwoClients(work: (a: AxonDcbEventStore, b: AxonDcbEventStore) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "soma-dcb-decision-" });
  const token = crypto.randomUUID();
  const soma = await startSoma({
    dataDir,
    port: 0,
    httpPort: false,
    heartbeatIntervalMs: 0,
    accessToken: token,
  });
  const connect = (componentName: string) =>
    AxonConnection.connect(
      { address: `127.0.0.1:${soma.port}`, componentName, token, onStateChange: () => {} },
      AbortSignal.timeout(20_000),
    );
  const [a, b] = await Promise.all([connect("enrolment-a"), connect("enrolment-b")]);
  try {
    await work(new AxonDcbEventStore(a), new AxonDcbEventStore(b));
  } finally {
    await Promise.all([a.close(), b.close()]);
    await soma.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const codes = (outcomes: PromiseSettledResult<unknown>[]) =>
  outcomes.map((o) =>
    o.status === "fulfilled" ? "ok" : o.reason instanceof DomainError ? o.reason.code : `${o.reason}`
  )
    .sort();

Deno.test("enrolment over soma: 12 racing students fill a 3-seat course exactly", () =>
  withTwoClients(async (a, b) => {
    await handleDecision(a, createCourse, { courseId: "dcb-101", capacity: 3 });
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: 12 },
        (_, i) =>
          handleDecision(i % 2 ? a : b, subscribeStudent, { courseId: "dcb-101", studentId: `s${i}` }),
      ),
    );
    assertEquals(codes(outcomes), [...Array(9).fill("EN003"), "ok", "ok", "ok"]);
    const seats = await a.source([{
      names: ["StudentSubscribed"],
      tags: [{ key: "course", value: "dcb-101" }],
    }]);
    assertEquals(seats.events.length, 3);
  }));

Deno.test("enrolment over soma: one student racing into 6 courses gets exactly 3", () =>
  withTwoClients(async (a, b) => {
    for (let i = 0; i < 6; i++) await handleDecision(a, createCourse, { courseId: `c${i}`, capacity: 10 });
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: 6 },
        (_, i) => handleDecision(i % 2 ? a : b, subscribeStudent, { courseId: `c${i}`, studentId: "ada" }),
      ),
    );
    assertEquals(codes(outcomes), ["EN005", "EN005", "EN005", "ok", "ok", "ok"]);
    const mine = await b.source([{ names: ["StudentSubscribed"], tags: [{ key: "student", value: "ada" }] }]);
    assertEquals(mine.events.length, 3);
    assert(mine.marker >= 9);
  }));
