/**
 * Exception details (Axon Framework's `HandlerExecutionException.getDetails()`): a handler's failure carries a
 * serialized object in the error response's `payload`; soma relays it to the caller for commands and queries,
 * over gRPC and in-process, and the connector sends and exposes it as `errorDetails`.
 */
import { create } from "@bufbuild/protobuf";
import { assertEquals, assertRejects } from "../assert.ts";
import {
  GreetCommandSchema,
  GreeterStatusQuerySchema,
  GreeterStatusSchema,
} from "../../src/gen/example/v1/domain_pb.ts";
import {
  DendriteError,
  DomainError,
  type ErrorDetails,
  queryOne,
  RemoteError,
} from "../../src/dendrite/mod.ts";
import { connector, startServer } from "./fixture.ts";

const details: ErrorDetails = {
  type: "com.example.GreeterRejection",
  revision: "2",
  data: new TextEncoder().encode('{"reason":"closed","retryAfter":30}'),
};

const plain = (error: DendriteError) => {
  const d = error.errorDetails;
  return d && { type: d.type, revision: d.revision, data: new TextDecoder().decode(d.data) };
};
const expected = plain(new DendriteError("x", "x", { errorDetails: details }));

Deno.test("error details: command and query failures carry the handler's details to gRPC and in-process callers", async () => {
  const server = await startServer();
  const [handler, caller] = await Promise.all([connector(server, "handler"), connector(server, "caller")]);
  try {
    await handler.commandBus.subscribe(GreetCommandSchema, () => {
      throw new DomainError("EX042", "greeter closed", { errorDetails: details });
    });
    await handler.queryBus.subscribe(GreeterStatusQuerySchema, () => {
      throw new RemoteError("AXONIQ-5001", "status unavailable", [], "handler", { errorDetails: details });
    });
    const command = create(GreetCommandSchema, { greeterId: "g", message: "hi" });
    const query = create(GreeterStatusQuerySchema, { greeterId: "g" });

    const overGrpc = await assertRejects(() => caller.commandBus.dispatch(command), DomainError);
    assertEquals([overGrpc.code, plain(overGrpc)], ["EX042", expected]);
    const inProcess = await assertRejects(() => server.soma!.commandBus.dispatch(command), DomainError);
    assertEquals([inProcess.code, plain(inProcess)], ["EX042", expected]);

    const queried = await assertRejects(
      () => queryOne(caller.queryBus, query, GreeterStatusSchema),
      RemoteError,
    );
    assertEquals([queried.code, plain(queried)], ["AXONIQ-5001", expected]);
    const queriedInProcess = await assertRejects(
      () => queryOne(server.soma!.queryBus, query, GreeterStatusSchema),
      RemoteError,
    );
    assertEquals(plain(queriedInProcess), expected);
  } finally {
    await Promise.all([handler.close(), caller.close()]);
    await server.close();
  }
});

Deno.test("error details: an in-process handler's details reach a gRPC caller", async () => {
  const server = await startServer();
  const caller = await connector(server, "caller");
  try {
    await server.soma!.commandBus.subscribe(GreetCommandSchema, () => {
      throw new DomainError("EX043", "not today", { errorDetails: details });
    });
    await server.soma!.queryBus.subscribe(GreeterStatusQuerySchema, () => {
      throw new DomainError("EX044", "no status", { errorDetails: details });
    });
    const failed = await assertRejects(
      () => caller.commandBus.dispatch(create(GreetCommandSchema, { greeterId: "g", message: "hi" })),
      DomainError,
    );
    assertEquals([failed.code, plain(failed)], ["EX043", expected]);
    const queried = await assertRejects(
      () =>
        queryOne(caller.queryBus, create(GreeterStatusQuerySchema, { greeterId: "g" }), GreeterStatusSchema),
      DomainError,
    );
    assertEquals([queried.code, plain(queried)], ["EX044", expected]);
  } finally {
    await caller.close();
    await server.close();
  }
});
