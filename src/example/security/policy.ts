/**
 * The example's access policy for the greeter API: reading and greeting are public, turning recording on and
 * off needs role `admin`. The security services bring their own policy (see `SECURITY_POLICY`).
 *
 * @module
 */
import type { AuthPolicy } from "../../dendrite/security/mod.ts";

/** Who may call which greeter RPC. */
export const GREETER_POLICY: AuthPolicy = {
  public: [
    "example.v1.GreeterService/Greet",
    "example.v1.GreeterService/Search",
    "example.v1.GreeterService/Greetings",
    "example.v1.GreeterService/GetStatus",
    "example.v1.GreeterService/WatchStatus",
  ],
  roles: {
    "example.v1.GreeterService/Record": ["admin"],
    "example.v1.GreeterService/Stop": ["admin"],
  },
};
