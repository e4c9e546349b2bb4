/**
 * The project's server (`startServer`: front door and gRPC port) with a Greet that does no work: it answers with
 * the request's message as the greeting id. Tests of the protocols use it, and the bench measures it as the
 * listener's own cost.
 *
 * @module
 */
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { type RunningServer, silentLogger, startServer } from "../../src/server/mod.ts";

/** Starts the trivial server on ephemeral loopback ports. */
export function startTrivialServer(): Promise<RunningServer> {
  return startServer({
    port: 0,
    grpcPort: 0,
    hostname: "127.0.0.1",
    logger: silentLogger,
    api: (router) =>
      router.service(GreeterService, { greet: (request) => ({ greetingId: request.message }) }),
  });
}
