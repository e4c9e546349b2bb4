/**
 * The example's access policies: the greeter API's (reading and greeting are public, turning recording on and
 * off needs role `admin`) and the security API's (signed changes, admin-only lists, public Login/GetChallenge).
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
