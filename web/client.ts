/**
 * The browser's API clients: grpc-web (binary) to the page's own origin, typed by the generated services, with
 * an interceptor that sends `authorization: Bearer <token>` while the session is valid and ends the session when
 * the server answers UNAUTHENTICATED.
 *
 * @module
 */
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "../src/gen/dendrite/security/v1/auth_pb.ts";
import { GreeterService } from "../src/gen/example/v1/greeter_pb.ts";
import type { Session, SessionHolder } from "./session.ts";

/** The typed GreeterService client. */
export type GreeterClient = Client<typeof GreeterService>;

/** The typed AuthService client. */
export type AuthClient = Client<typeof AuthService>;

/** The clients the page uses. */
export interface ApiClients {
  readonly greeter: GreeterClient;
  readonly auth: AuthClient;
}

/** Whether the server refused the caller's token (or the missing one). */
export function isUnauthenticated(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Unauthenticated;
}

async function* watchStream<T>(
  stream: AsyncIterable<T>,
  onError: (error: unknown) => void,
): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (error) {
    onError(error);
    throw error;
  }
}

/**
 * Adds the session's bearer token to every call (none when signed out or expired) and expires the session that
 * was sent when the answer, or a stream later on, is UNAUTHENTICATED.
 */
export function bearerInterceptor(holder: SessionHolder): Interceptor {
  return (next) => async (request) => {
    const session: Session | undefined = holder.current();
    if (session) request.header.set("authorization", `Bearer ${session.token}`);
    const refused = (error: unknown) => {
      if (session && isUnauthenticated(error)) holder.expire(session);
    };
    try {
      const response = await next(request);
      if (!response.stream) return response;
      return { ...response, message: watchStream(response.message, refused) };
    } catch (error) {
      refused(error);
      throw error;
    }
  };
}

/** Clients for the server that served the page. */
export function apiClients(holder: SessionHolder, baseUrl: string = location.origin): ApiClients {
  const transport = createGrpcWebTransport({ baseUrl, interceptors: [bearerInterceptor(holder)] });
  return { greeter: createClient(GreeterService, transport), auth: createClient(AuthService, transport) };
}

/** Whether the server refused the request itself (a domain rule or bad input), not failed to handle it. */
export function isRefusal(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return code === Code.FailedPrecondition || code === Code.InvalidArgument;
}

/** A domain refusal's message starts with its code ("EX001: …"); people read the words only. */
const DOMAIN_CODE = /^[A-Z]{2,}-?\d+: /;

/** A message for people: the server's message for refusals, a generic one for everything else. */
export function describeError(error: unknown): string {
  const connectError = ConnectError.from(error);
  switch (connectError.code) {
    case Code.FailedPrecondition:
    case Code.InvalidArgument:
    case Code.ResourceExhausted:
    case Code.Unauthenticated:
      return connectError.rawMessage.replace(DOMAIN_CODE, "");
    case Code.PermissionDenied:
      return `Not allowed: ${connectError.rawMessage}`;
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
