/**
 * Turns a protoc-gen-es v2 service descriptor (`GenService`) into a `@grpc/grpc-js` `ServiceDefinition`, so the
 * generated `@bufbuild/protobuf` messages travel over grpc-js without a second code generator.
 *
 * - paths are `/<package.Service>/<Method>` (the proto names, as every gRPC peer expects);
 * - `requestStream` / `responseStream` follow the method kind;
 * - messages are (de)serialized with `toBinary` / `fromBinary` of the method's input and output schemas.
 *
 * Servers pass the definition to `Server.addService` with a {@link GrpcServiceImplementation}; clients pass it to
 * `makeGenericClientConstructor` and get one method per RPC, named by its local name (`openStream`, `dispatch`, …).
 * Decoding failures throw, which grpc-js turns into an error status for the call (the server keeps serving).
 *
 * @example
 * ```ts
 * import { makeGenericClientConstructor } from "@grpc/grpc-js";
 * import { grpcService } from "./grpc.ts";
 * import { PlatformService } from "../../../gen/axon/control_pb.ts";
 * const definition = grpcService(PlatformService);
 * console.log(definition.getPlatformServer.path); // /io.axoniq.axonserver.grpc.control.PlatformService/GetPlatformServer
 * const PlatformClient = makeGenericClientConstructor(definition, "PlatformService");
 * ```
 *
 * @module
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
} from "@grpc/grpc-js";
import { Buffer } from "node:buffer";

/** The grpc-js method definitions of a service, keyed by the methods' local (camelCase) names. */
export type GrpcServiceDefinition<T extends GenServiceMethods> = {
  readonly [K in keyof T]: MethodDefinition<MessageShape<T[K]["input"]>, MessageShape<T[K]["output"]>>;
};

/** The grpc-js handler type of one method, chosen by its method kind. */
export type GrpcHandler<M extends GenServiceMethods[string]> = M["methodKind"] extends "unary"
  ? handleUnaryCall<MessageShape<M["input"]>, MessageShape<M["output"]>>
  : M["methodKind"] extends "client_streaming"
    ? handleClientStreamingCall<MessageShape<M["input"]>, MessageShape<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? handleServerStreamingCall<MessageShape<M["input"]>, MessageShape<M["output"]>>
  : handleBidiStreamingCall<MessageShape<M["input"]>, MessageShape<M["output"]>>;

/** A typed server implementation of a service: one handler per method, keyed like the definition. */
export type GrpcServiceImplementation<T extends GenServiceMethods> = {
  [K in keyof T]: GrpcHandler<T[K]>;
};

/** Serializes a message of `schema` into the `Buffer` grpc-js writes to the wire. */
export function serializer<D extends DescMessage>(schema: D): (message: MessageShape<D>) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Deserializes wire bytes into a message of `schema`; throws on invalid protobuf. */
export function deserializer<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}

/** Builds the grpc-js `ServiceDefinition` of a generated service. */
export function grpcService<T extends GenServiceMethods>(service: GenService<T>): GrpcServiceDefinition<T> {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const kind = method.methodKind;
    const entry: MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>> = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: kind === "client_streaming" || kind === "bidi_streaming",
      responseStream: kind === "server_streaming" || kind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.localName,
    };
    definition[method.localName] = entry as MethodDefinition<unknown, unknown>;
  }
  return definition as GrpcServiceDefinition<T>;
}
