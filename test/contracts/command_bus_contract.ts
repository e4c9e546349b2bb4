/**
 * The CommandBus contract, run against every adapter: in-process, soma in-process, connector → soma over gRPC,
 * and connector → Axon Server when AXON_SERVER is set. Dispatcher and handler may be different bus instances
 * (different connections), as in a real deployment.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { contractSuite } from "./suite.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  type CommandBus,
  type CommandMessage,
  DendriteError,
  DomainError,
  NoHandlerError,
} from "../../src/dendrite/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";

export interface CommandBusFixture {
  /** Where commands are dispatched. */
  readonly dispatcher: CommandBus;
  /** Where handlers subscribe (may be the same bus). */
  readonly handler: CommandBus;
  /** Resolves once a subscription made on `handler` is visible to `dispatcher` (a server round trip). */
  settle?(): Promise<void>;
  close(): Promise<void>;
}

/** Registers the suite as Deno tests named `<adapter>: CommandBus …`. */
export function commandBusContract(
  adapter: string,
  open: () => Promise<CommandBusFixture>,
  options: { skip?: string | false } = {},
): void {
  const test = contractSuite("CommandBus", adapter, open, options);
  const id = () => `greeter-${crypto.randomUUID()}`;

  test("delivers a command with its metadata and routing key, and returns the typed result", async (f) => {
    let seen: CommandMessage<domain.GreetCommand> | undefined;
    await f.handler.subscribe(domain.GreetCommandSchema, (command) => {
      seen = command;
      return Promise.resolve(create(domain.RecordingStateSchema, { recording: true }));
    });
    await f.settle?.();
    const greeterId = id();
    const result = await f.dispatcher.dispatch(
      create(domain.GreetCommandSchema, { greeterId, message: "hi" }),
      {
        routingKey: greeterId,
        metadata: { correlation_id: "corr-1", subject: "alice" },
        expect: domain.RecordingStateSchema,
      },
    );
    assertEquals(result?.recording, true);
    assertEquals(seen?.payload.message, "hi");
    assertEquals(seen?.routingKey, greeterId);
    assertEquals(seen?.metadata.correlation_id, "corr-1");
    assertEquals(seen?.metadata.subject, "alice");
  });

  test("refuses a result of another type than `expect` with AXONIQ-0001", async (f) => {
    await f.handler.subscribe(
      domain.GreetCommandSchema,
      () => Promise.resolve(create(domain.RecordingStateSchema, { recording: true })),
    );
    await f.settle?.();
    const error = await assertRejects(
      () =>
        f.dispatcher.dispatch(create(domain.GreetCommandSchema, { greeterId: id(), message: "hi" }), {
          expect: domain.GreeterStatusSchema,
        }),
      DendriteError,
    );
    assertEquals(error.code, "AXONIQ-0001");
    assert(error.message.includes(domain.RecordingStateSchema.typeName), error.message);
  });

  test("refuses a second handler for the same command; the first keeps serving", async (f) => {
    const first = await f.handler.subscribe(
      domain.GreetCommandSchema,
      () => Promise.resolve(create(domain.RecordingStateSchema, { recording: true })),
    );
    await assertRejects(
      () => f.handler.subscribe(domain.GreetCommandSchema, () => Promise.resolve(undefined)),
      Error,
      "already subscribed",
    );
    await f.settle?.();
    const greet = () => create(domain.GreetCommandSchema, { greeterId: id(), message: "hi" });
    const result = await f.dispatcher.dispatch(greet(), { expect: domain.RecordingStateSchema });
    assertEquals(result?.recording, true, "the first handler answers");
    await first.cancel();
    await f.handler.subscribe(domain.GreetCommandSchema, () => Promise.resolve(undefined));
    await f.settle?.();
    assertEquals(
      await f.dispatcher.dispatch(greet()),
      undefined,
      "a new handler may take over after the cancel",
    );
  });

  test("returns nothing when the handler returns nothing", async (f) => {
    await f.handler.subscribe(domain.StopCommandSchema, () => Promise.resolve(undefined));
    await f.settle?.();
    assertEquals(
      await f.dispatcher.dispatch(create(domain.StopCommandSchema, { greeterId: id() })),
      undefined,
    );
  });

  test("refuses a command nobody handles with AXONIQ-4000", async (f) => {
    const error = await assertRejects(
      () => f.dispatcher.dispatch(create(domain.RecordCommandSchema, { greeterId: id() })),
      NoHandlerError,
    );
    assertEquals(error.code, "AXONIQ-4000");
  });

  test("carries a domain refusal back with its code and kind", async (f) => {
    await f.handler.subscribe(
      domain.GreetCommandSchema,
      () => Promise.reject(new DomainError("EX001", "Not recording", { kind: "failed-precondition" })),
    );
    await f.settle?.();
    const error = await assertRejects(
      () => f.dispatcher.dispatch(create(domain.GreetCommandSchema, { greeterId: id(), message: "x" })),
      DomainError,
    );
    assertEquals([error.code, error.kind], ["EX001", "failed-precondition"]);
    assert(error.message.includes("Not recording"));
  });

  test("reports an unexpected handler failure as an error, and the handler keeps serving", async (f) => {
    let calls = 0;
    await f.handler.subscribe(domain.GreetCommandSchema, () => {
      calls++;
      return calls === 1 ? Promise.reject(new TypeError("handler bug")) : Promise.resolve(undefined);
    });
    await f.settle?.();
    const command = () => create(domain.GreetCommandSchema, { greeterId: id(), message: "x" });
    const error = await assertRejects(() => f.dispatcher.dispatch(command()));
    assert(error.message.includes("handler bug"), error.message);
    assertEquals(await f.dispatcher.dispatch(command()), undefined);
  });

  test("times out a command whose handler does not answer", async (f) => {
    await f.handler.subscribe(
      domain.GreetCommandSchema,
      (_command, { signal }) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    await f.settle?.();
    const error = await assertRejects(() =>
      f.dispatcher.dispatch(create(domain.GreetCommandSchema, { greeterId: id(), message: "x" }), {
        timeoutMs: 200,
      })
    );
    assert(error instanceof DendriteError, `expected a DendriteError, got ${error}`);
  });

  test("a cancelled registration stops receiving", async (f) => {
    const registration = await f.handler.subscribe(
      domain.StopCommandSchema,
      () => Promise.resolve(undefined),
    );
    await f.settle?.();
    await f.dispatcher.dispatch(create(domain.StopCommandSchema, { greeterId: id() }));
    await registration.cancel();
    await f.settle?.();
    await assertRejects(
      () => f.dispatcher.dispatch(create(domain.StopCommandSchema, { greeterId: id() })),
      NoHandlerError,
    );
  });
}
