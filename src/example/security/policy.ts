/**
 * The example's access policies: the greeter API's (reading and greeting are public, turning recording on and
 * off needs role `admin`) and the security API's (signed changes, admin-only lists, public Login/GetChallenge).
 *
 * @module
 */
import { type AuthPolicy, mergePolicies } from "../../dendrite/security/mod.ts";

// dendrite:example:begin
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
// dendrite:example:end

/** Who may call the RPCs added with `deno task new` (it writes each method's entry with the method). */
export const FEATURE_POLICY: AuthPolicy = {
  public: [
    // dendrite:scaffold:public
  ],
  roles: {
    // dendrite:scaffold:roles
  },
};

/** The application's policy: every service's table (the security API's own is added by the interceptor). */
export const APP_POLICY: AuthPolicy = mergePolicies(
  GREETER_POLICY, // dendrite:example
  FEATURE_POLICY,
);

const PKG = "dendrite.security.v1";

/** The access policy of the security API. */
export const SECURITY_POLICY: AuthPolicy = {
  public: [`${PKG}.AuthService/Login`, `${PKG}.ChallengeService/GetChallenge`],
  signed: [
    `${PKG}.KeyService/AddTrustedKey`,
    `${PKG}.KeyService/RemoveTrustedKey`,
    `${PKG}.KeyService/AddKeyManager`,
    `${PKG}.KeyService/RemoveKeyManager`,
    `${PKG}.KeyService/UploadSigningKey`,
    `${PKG}.CredentialService/RegisterCredential`,
    `${PKG}.CredentialService/RemoveCredential`,
    `${PKG}.ConfigService/SetProperty`,
  ],
  roles: {
    [`${PKG}.KeyService/ListTrustedKeys`]: ["admin"],
    [`${PKG}.KeyService/ListKeyManagers`]: ["admin"],
    [`${PKG}.CredentialService/ListCredentials`]: ["admin"],
    [`${PKG}.ConfigService/GetProperty`]: ["admin"],
    [`${PKG}.ConfigService/ListProperties`]: ["admin"],
  },
};
