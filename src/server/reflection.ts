/**
 * gRPC server reflection (`grpc.reflection.v1` and `grpc.reflection.v1alpha`), so tools such as grpcurl can list
 * the services and fetch their descriptors. The descriptors are the ones embedded in the generated code.
 *
 * Both versions have the same wire format; v1alpha requests are re-read as v1 messages and answered by the same
 * code.
 *
 * @module
 */
import {
  create,
  createRegistry,
  type DescFile,
  type DescService,
  fromBinary,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";

/** gRPC status codes used in reflection error responses. */
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** The services reflection itself adds. */
export const REFLECTION_SERVICES: readonly DescService[] = [v1.ServerReflection, v1alpha.ServerReflection];

interface Index {
  readonly services: readonly string[];
  readonly files: ReadonlyMap<string, DescFile>;
  readonly registry: Registry;
}

function buildIndex(services: readonly DescService[]): Index {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    file.dependencies.forEach(visit);
  };
  services.forEach((service) => visit(service.file));
  return {
    services: [...new Set(services.map((s) => s.typeName))].sort(),
    files,
    registry: createRegistry(...files.values()),
  };
}

/** The file that defines `symbol` (a message, enum, service, method or field name), if any. */
function fileOfSymbol(index: Index, symbol: string): DescFile | undefined {
  const direct = index.registry.get(symbol);
  if (direct) return direct.file;
  const dot = symbol.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const parent = index.registry.get(symbol.slice(0, dot));
  const member = symbol.slice(dot + 1);
  if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) return parent.file;
  if (parent?.kind === "message" && parent.fields.some((f) => f.name === member)) return parent.file;
  return undefined;
}

/** `file` and its transitive dependencies that were not sent on this stream yet. */
function withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (sent.has(f.proto.name)) return;
    sent.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach(visit);
  };
  visit(file);
  return out;
}

function answer(
  index: Index,
  request: v1.ServerReflectionRequest,
  sent: Set<string>,
): v1.ServerReflectionResponse {
  const respond = (messageResponse: v1.ServerReflectionResponse["messageResponse"]) =>
    create(v1.ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse,
    });
  const error = (errorCode: number, errorMessage: string) =>
    respond({ case: "errorResponse", value: create(v1.ErrorResponseSchema, { errorCode, errorMessage }) });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? respond({
        case: "fileDescriptorResponse",
        value: create(v1.FileDescriptorResponseSchema, { fileDescriptorProto: withDependencies(file, sent) }),
      })
      : error(NOT_FOUND, `${what} not found`);

  const { messageRequest } = request;
  switch (messageRequest.case) {
    case "listServices":
      return respond({
        case: "listServicesResponse",
        value: create(v1.ListServiceResponseSchema, {
          service: index.services.map((name) => create(v1.ServiceResponseSchema, { name })),
        }),
      });
    case "fileByFilename":
      return files(index.files.get(messageRequest.value), `File "${messageRequest.value}"`);
    case "fileContainingSymbol":
      return files(fileOfSymbol(index, messageRequest.value), `Symbol "${messageRequest.value}"`);
    case "fileContainingExtension":
      return error(NOT_FOUND, `Extension ${messageRequest.value.extensionNumber} not found`);
    case "allExtensionNumbersOfType": {
      const type = index.registry.getMessage(messageRequest.value);
      if (!type) return error(NOT_FOUND, `Type "${messageRequest.value}" not found`);
      return respond({
        case: "allExtensionNumbersResponse",
        value: create(v1.ExtensionNumberResponseSchema, { baseTypeName: type.typeName, extensionNumber: [] }),
      });
    }
    default:
      return error(UNIMPLEMENTED, "Unknown reflection request");
  }
}

/**
 * Registers both reflection services on `router`, describing `services` (and the reflection services).
 *
 * @example
 * ```ts ignore
 * registerReflection(router, [GreeterService]);
 * ```
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const index = buildIndex([...services, ...REFLECTION_SERVICES]);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) yield answer(index, request, sent);
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        const asV1 = fromBinary(
          v1.ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, request),
        );
        const response = answer(index, asV1, sent);
        yield fromBinary(
          v1alpha.ServerReflectionResponseSchema,
          toBinary(v1.ServerReflectionResponseSchema, response),
        );
      }
    },
  });
}
