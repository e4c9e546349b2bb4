/**
 * The browser's API client: grpc-web (binary) to the page's own origin, typed by the generated service.
 *
 * @module
 */
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { GreeterService } from "../src/gen/example/v1/greeter_pb.ts";

/** The typed GreeterService client. */
export type GreeterClient = Client<typeof GreeterService>;

/** A client for the server that served the page. */
export function greeterClient(baseUrl: string = location.origin): GreeterClient {
  return createClient(GreeterService, createGrpcWebTransport({ baseUrl }));
}

/** A message for people: the server's message for refusals, a generic one for everything else. */
export function describeError(error: unknown): string {
  const connectError = ConnectError.from(error);
  switch (connectError.code) {
    case Code.FailedPrecondition:
    case Code.InvalidArgument:
    case Code.ResourceExhausted:
      return connectError.rawMessage;
    case Code.Unavailable:
    case Code.Unknown:
      return "The server cannot be reached. Check that it is running.";
    case Code.DeadlineExceeded:
      return "The server took too long to answer. Try again.";
    case Code.Canceled:
      return "The request was cancelled.";
    default:
      return `Something went wrong (${Code[connectError.code]}). ${connectError.rawMessage}`;
  }
}
