/**
 * gRPC server reflection, called the way grpcurl does it: a grpc-js bidi stream on
 * `grpc.reflection.v1.ServerReflection` (and v1alpha).
 */
import { createFileRegistry, fromBinary, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import * as v1 from "../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import { file_dendrite_security_v1_auth } from "../../src/gen/dendrite/security/v1/auth_pb.ts";
import { file_dendrite_security_v1_config } from "../../src/gen/dendrite/security/v1/config_pb.ts";
import { file_dendrite_security_v1_credentials } from "../../src/gen/dendrite/security/v1/credentials_pb.ts";
import { file_dendrite_security_v1_keys } from "../../src/gen/dendrite/security/v1/keys_pb.ts";
import { file_example_v1_greeter, GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import * as v1alpha from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "./fixture.ts";
import { bidiStream, grpcClient } from "./grpc_client.ts";

type Request = v1.ServerReflectionRequest["messageRequest"];

/**
 * The services the program serves, from the generated descriptors of its API files (a new RPC or service in
 * those .proto files is expected without editing this test), plus reflection itself.
 */
const SERVED = [
  file_dendrite_security_v1_auth,
  file_dendrite_security_v1_config,
  file_dendrite_security_v1_credentials,
  file_dendrite_security_v1_keys,
  file_example_v1_greeter,
].flatMap((file) => file.services.map((service) => service.typeName))
  .concat([v1.ServerReflection.typeName, v1alpha.ServerReflection.typeName])
  .sort();

Deno.test("reflection v1 lists the services and serves their descriptors", async () => {
  const t = await startTestApp();
  const client = grpcClient(v1.ServerReflection, t.address);
  try {
    const call = bidiStream(client, v1.ServerReflection.method.serverReflectionInfo);
    const responses: v1.ServerReflectionResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (response: v1.ServerReflectionResponse) => responses.push(response));
      call.on("error", reject);
      call.on("end", resolve);
    });
    const requests: Request[] = [
      { case: "listServices", value: "" },
      { case: "fileContainingSymbol", value: "example.v1.GreeterService" },
      { case: "fileContainingSymbol", value: "example.v1.GreeterService.Greet" },
      { case: "fileByFilename", value: "example/v1/greeter.proto" },
      { case: "fileContainingSymbol", value: "example.v1.NoSuchThing" },
    ];
    for (const messageRequest of requests) {
      call.write(create(v1.ServerReflectionRequestSchema, { host: "localhost", messageRequest }));
    }
    call.end();
    await done;
    assertEquals(responses.length, requests.length);

    const [list, bySymbol, byMethod, byFile, missing] = responses.map((r) => r.messageResponse);
    assert(list.case === "listServicesResponse", list.case);
    assertEquals(list.value.service.map((s) => s.name), SERVED);

    for (const answer of [bySymbol, byMethod, byFile]) {
      assert(answer.case === "fileDescriptorResponse", answer.case);
    }
    assert(bySymbol.case === "fileDescriptorResponse");
    const files = bySymbol.value.fileDescriptorProto.map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes)
    );
    assertEquals(files.map((f) => f.name), ["example/v1/greeter.proto"]);
    // A client can rebuild the service from what it received.
    const registry: Registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
    const service = registry.getService("example.v1.GreeterService");
    assertEquals(service?.methods.map((m) => m.name), GreeterService.methods.map((m) => m.name));

    assert(missing.case === "errorResponse", missing.case);
    assertEquals(missing.value.errorCode, 5);
    assertEquals(responses[4].originalRequest?.messageRequest.value, "example.v1.NoSuchThing");
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("reflection v1alpha answers like v1", async () => {
  const t = await startTestApp();
  const client = grpcClient(v1alpha.ServerReflection, t.address);
  try {
    const call = bidiStream(client, v1alpha.ServerReflection.method.serverReflectionInfo);
    const response = new Promise<v1alpha.ServerReflectionResponse>((resolve, reject) => {
      call.once("data", resolve);
      call.on("error", reject);
    });
    call.write(
      create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "*" } }),
    );
    const answer = (await response).messageResponse;
    call.end();
    assert(answer.case === "listServicesResponse", answer.case);
    assert(answer.value.service.some((s) => s.name === "example.v1.GreeterService"));
  } finally {
    client.close();
    await t.close();
  }
});
