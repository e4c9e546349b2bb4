/**
 * A native gRPC client for tests, on `@grpc/grpc-js`: the service definition is built from a generated
 * `GenService` descriptor (paths, streaming flags, protobuf-es `toBinary`/`fromBinary`), and calls are typed by
 * the method descriptors.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import {
  create,
  type DescMessage,
  type DescMethodBiDiStreaming,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  fromBinary,
  type Message,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

function methodPath(method: { name: string; parent: DescService }): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function serializer<S extends DescMessage>(schema: S): (value: MessageShape<S>) => Buffer {
  return (value) => Buffer.from(toBinary(schema, value));
}

function deserializer<S extends DescMessage>(schema: S): (bytes: Buffer) => MessageShape<S> {
  return (bytes) => fromBinary(schema, bytes);
}

/** A grpc-js service definition built from a protobuf-es service descriptor. */
export function serviceDefinition(
  service: DescService,
): grpc.ServiceDefinition<grpc.UntypedServiceImplementation> {
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return definition;
}

/** An insecure grpc-js client of `service` at `host:port`. */
export function grpcClient(service: DescService, address: string): grpc.Client {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(service), service.name);
  return new Client(address, grpc.credentials.createInsecure());
}

/** Request metadata from plain headers (e.g. `{ authorization: "Bearer …" }`). */
export function metadata(headers: Readonly<Record<string, string>>): grpc.Metadata {
  const result = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) result.set(name, value);
  return result;
}

/** A unary call; rejects with the grpc-js `ServiceError` (code, details, metadata). */
export function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  headers: Readonly<Record<string, string>> = {},
  deadlineMs = 10_000,
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      methodPath(method),
      serializer(method.input),
      deserializer(method.output),
      create(method.input, input),
      metadata(headers),
      { deadline: Date.now() + deadlineMs },
      (error, response) => error || response === undefined ? reject(error) : resolve(response),
    );
  });
}

/** A server-streaming call, read to its end. */
export function serverStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodServerStreaming<I, O>,
  input: MessageInitShape<I>,
  options: grpc.CallOptions = {},
): grpc.ClientReadableStream<MessageShape<O>> {
  return client.makeServerStreamRequest(
    methodPath(method),
    serializer(method.input),
    deserializer(method.output),
    create(method.input, input),
    new grpc.Metadata(),
    options,
  );
}

/** Collects every message of a server stream; rejects with the stream's error. */
export function collect<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on("data", (item: T) => items.push(item));
    stream.on("error", reject);
    stream.on("end", () => resolve(items));
  });
}

/** A bidi-streaming call. */
export function bidiStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodBiDiStreaming<I, O>,
): grpc.ClientDuplexStream<MessageShape<I>, MessageShape<O>> {
  return client.makeBidiStreamRequest(
    methodPath(method),
    serializer(method.input),
    deserializer(method.output),
    new grpc.Metadata(),
    { deadline: Date.now() + 10_000 },
  );
}

/** Whether `error` is a grpc-js `ServiceError`. */
export function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && "code" in error && "metadata" in error;
}

export { grpc };
