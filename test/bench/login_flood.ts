/**
 * A Login flood from its own process (for `security.ts`): `deno run -A test/bench/login_flood.ts URL IDENTIFIER
 * PASSWORD CLIENTS` keeps CLIENTS Login calls in flight over gRPC until it is killed; refusals (e.g.
 * RESOURCE_EXHAUSTED from the bound on password checks) are retried at once. Prints "flooding" when it starts.
 *
 * @module
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../src/gen/dendrite/security/v1/auth_pb.ts";

const [url, identifier, password, clients] = Deno.args;
const auth = createClient(AuthService, createGrpcTransport({ baseUrl: url }));
console.log("flooding");
const client = async () => {
  while (true) {
    try {
      await auth.login({ identifier, password });
    } catch {
      // refused: try again at once, as a flood does
    }
  }
};
await Promise.all(Array.from({ length: Number(clients) }, client));
