/**
 * The QueryBus contract, run against every adapter (in-process, soma in-process, connector → soma, connector →
 * Axon Server when AXON_SERVER is set).
 *
 * @module
 */
import { create, type Message } from "@bufbuild/protobuf";
import { contractSuite } from "./suite.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  DendriteError,
  DomainError,
  NoHandlerError,
  type QueryBus,
  queryOne,
} from "../../src/dendrite/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { type Greeting, GreetingSchema } from "../../src/gen/example/v1/greeter_pb.ts";

export interface QueryBusFixture {
  readonly dispatcher: QueryBus;
  /** Where handlers subscribe and updates are emitted. */
  readonly handler: QueryBus;
  /** A second handling component (scatter-gather), when the adapter has one. */
  readonly otherComponent?: QueryBus;
  settle?(): Promise<void>;
  close(): Promise<void>;
}

async function nextOf(iterator: AsyncIterator<Message>): Promise<Message | undefined> {
  const next = await iterator.next();
  return next.done ? undefined : next.value;
}

/** Registers the suite as Deno tests named `<adapter>: QueryBus …`. */
export function queryBusContract(
  adapter: string,
  open: () => Promise<QueryBusFixture>,
  options: { skip?: string | false } = {},
): void {
  const test = contractSuite("QueryBus", adapter, open, options);

  test("answers a query with the handler's typed response and passes metadata", async (f) => {
    let subject: unknown;
    await f.handler.subscribe(domain.GreeterStatusQuerySchema, ({ payload, metadata }) => {
      subject = metadata.subject;
      return Promise.resolve(create(domain.GreeterStatusSchema, { recording: payload.greeterId === "on" }));
    });
    await f.settle?.();
    const status = await queryOne(
      f.dispatcher,
      create(domain.GreeterStatusQuerySchema, { greeterId: "on" }),
      domain.GreeterStatusSchema,
      { metadata: { subject: "bob" } },
    );
    assertEquals(status.recording, true);
    assertEquals(subject, "bob");
  });

  test("streams several responses of one handler", async (f) => {
    await f.handler.subscribe(domain.SearchQuerySchema, () =>
      Promise.resolve([
        create(domain.GreetingListSchema, { greetings: [create(GreetingSchema, { message: "a" })] }),
        create(domain.GreetingListSchema, { greetings: [create(GreetingSchema, { message: "b" })] }),
      ]));
    await f.settle?.();
    const messages: string[] = [];
    for await (const response of f.dispatcher.query(create(domain.SearchQuerySchema, { query: "x" }))) {
      messages.push(...(response as domain.GreetingList).greetings.map((g) => g.message));
    }
    assertEquals(messages, ["a", "b"]);
  });

  test("refuses a query nobody handles with AXONIQ-5000", async (f) => {
    const error = await assertRejects(
      () => queryOne(f.dispatcher, create(domain.GreetingsQuerySchema), domain.GreetingListSchema),
      NoHandlerError,
    );
    assertEquals(error.code, "AXONIQ-5000");
  });

  test("carries a domain refusal back", async (f) => {
    await f.handler.subscribe(
      domain.GreeterStatusQuerySchema,
      () => Promise.reject(new DomainError("EX404", "No such greeter", { kind: "not-found" })),
    );
    await f.settle?.();
    const error = await assertRejects(
      () =>
        queryOne(
          f.dispatcher,
          create(domain.GreeterStatusQuerySchema, { greeterId: "x" }),
          domain.GreeterStatusSchema,
        ),
      DomainError,
    );
    assertEquals([error.code, error.kind], ["EX404", "not-found"]);
  });

  test("queryOne refuses a response of another type than `expect` with AXONIQ-0001", async (f) => {
    await f.handler.subscribe(
      domain.GreeterStatusQuerySchema,
      () => Promise.resolve(create(domain.GreetingListSchema, { greetings: [] })),
    );
    await f.settle?.();
    const error = await assertRejects(
      () =>
        queryOne(
          f.dispatcher,
          create(domain.GreeterStatusQuerySchema, { greeterId: "g" }),
          domain.GreeterStatusSchema,
        ),
      DendriteError,
    );
    assertEquals(error.code, "AXONIQ-0001");
    assert(error.message.includes(domain.GreetingListSchema.typeName), error.message);
  });

  test("two handlers of one query in one component: each query is answered once", async (f) => {
    const calls = [0, 0];
    for (const which of [0, 1]) {
      await f.handler.subscribe(domain.GreeterStatusQuerySchema, () => {
        calls[which]++;
        return Promise.resolve(create(domain.GreeterStatusSchema, { greetingCount: BigInt(which) }));
      });
    }
    await f.settle?.();
    for (let i = 0; i < 4; i++) {
      const answers: Message[] = [];
      for await (const r of f.dispatcher.query(create(domain.GreeterStatusQuerySchema, { greeterId: "g" }))) {
        answers.push(r);
      }
      assertEquals(answers.length, 1, `query ${i} answered ${answers.length} times`);
    }
    assertEquals(calls[0] + calls[1], 4);
  });

  test("gathers one answer from each handling component", async (f) => {
    if (!f.otherComponent) return;
    await f.handler.subscribe(
      domain.GreeterStatusQuerySchema,
      () => Promise.resolve(create(domain.GreeterStatusSchema, { greetingCount: 1n })),
    );
    await f.otherComponent.subscribe(
      domain.GreeterStatusQuerySchema,
      () => Promise.resolve(create(domain.GreeterStatusSchema, { greetingCount: 2n })),
    );
    await f.settle?.();
    const counts: bigint[] = [];
    for await (const r of f.dispatcher.query(create(domain.GreeterStatusQuerySchema, { greeterId: "g" }))) {
      counts.push((r as domain.GreeterStatus).greetingCount);
    }
    assertEquals(counts.sort(), [1n, 2n]);
  });

  test("a subscription query gets the initial result, then matching updates, until completed", async (f) => {
    await f.handler.subscribe(
      domain.GreetingsQuerySchema,
      () =>
        Promise.resolve(
          create(domain.GreetingListSchema, { greetings: [create(GreetingSchema, { message: "old" })] }),
        ),
    );
    await f.settle?.();
    const live = await f.dispatcher.subscriptionQuery(create(domain.GreetingsQuerySchema));
    assertEquals((live.initial[0] as domain.GreetingList).greetings[0].message, "old");
    const updates = live.updates[Symbol.asyncIterator]();
    const first = nextOf(updates);
    // The subscription reaches the handler side asynchronously through a server: emit until it arrives.
    let delivered = false;
    first.then(() => delivered = true);
    for (let i = 0; !delivered && i < 500; i++) {
      f.handler.emitUpdate(
        { query: domain.GreetingsQuerySchema },
        create(GreetingSchema, { message: "new" }),
      );
      await Promise.race([first, new Promise((r) => setTimeout(r, 10))]);
    }
    assertEquals(((await first) as Greeting | undefined)?.message, "new");
    f.handler.emitUpdate(
      { query: domain.GreetingsQuerySchema, where: () => false },
      create(GreetingSchema, { message: "filtered out" }),
    );
    f.handler.completeSubscriptions({ query: domain.GreetingsQuerySchema });
    const rest: string[] = [];
    for (let m = await nextOf(updates); m; m = await nextOf(updates)) {
      rest.push((m as Greeting).message);
    }
    assert(!rest.includes("filtered out"), `a filtered update arrived: ${rest}`);
    assert(rest.every((m) => m === "new"), `only repeated "new" updates may follow: ${rest}`);
  });

  test("closing a subscription query ends its updates", async (f) => {
    await f.handler.subscribe(
      domain.GreetingsQuerySchema,
      () => Promise.resolve(create(domain.GreetingListSchema)),
    );
    await f.settle?.();
    const live = await f.dispatcher.subscriptionQuery(create(domain.GreetingsQuerySchema));
    const updates = live.updates[Symbol.asyncIterator]();
    live.close();
    assertEquals(await nextOf(updates), undefined);
  });
}
