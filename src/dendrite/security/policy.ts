/**
 * The per-method access policy: which RPCs are public, which need a token with a role, which need a key-manager
 * signature instead of a token. Methods are named `package.Service/Method`; `package.Service/*` covers a whole
 * service. Anything not named is refused (fail closed) unless `otherwise` says "authenticated".
 *
 * @module
 */

/**
 * What a method requires.
 *
 * @example
 * ```ts
 * import type { MethodRule } from "./mod.ts";
 * const describe = (rule: MethodRule): string => {
 *   if (rule.kind === "roles") return rule.roles.length ? `a token with ${rule.roles.join(" or ")}` : "a token";
 *   return { public: "anyone", signed: "a key manager's signature", deny: "nobody" }[rule.kind];
 * };
 * ```
 */
export type MethodRule =
  | { readonly kind: "public" }
  | { readonly kind: "roles"; readonly roles: readonly string[] }
  | { readonly kind: "signed" }
  | { readonly kind: "deny" };

/**
 * The policy table.
 *
 * @example
 * ```ts
 * import type { AuthPolicy } from "./policy.ts";
 * const policy: AuthPolicy = {
 *   public: ["example.v1.GreeterService/Search"],
 *   roles: { "example.v1.GreeterService/*": ["user"] },
 *   signed: ["dendrite.security.v1.KeyService/*"],
 *   otherwise: "deny",
 * };
 * ```
 */
export interface AuthPolicy {
  /** Methods anyone may call (a token, when sent, is still verified). */
  readonly public?: readonly string[];
  /** Methods that need a valid token with ANY of the listed roles (an empty list: any valid token). */
  readonly roles?: Readonly<Record<string, readonly string[]>>;
  /** Methods that need a key-manager signature over a challenge and the request (no token). */
  readonly signed?: readonly string[];
  /** What unnamed methods get (default "deny"). */
  readonly otherwise?: "deny" | "authenticated";
}

/**
 * The rule for a method: the exact name first, then the service wildcard, then `otherwise`.
 *
 * @example
 * ```ts
 * import { ruleFor } from "./policy.ts";
 * const rule = ruleFor({ public: ["example.v1.GreeterService/Greet"] }, "example.v1.GreeterService/Greet");
 * console.log(rule.kind); // "public"
 * ```
 */
export function ruleFor(policy: AuthPolicy, method: string): MethodRule {
  const service = method.slice(0, method.lastIndexOf("/"));
  for (const name of [method, `${service}/*`]) {
    const rule = exact(policy, name);
    if (rule) return rule;
  }
  return policy.otherwise === "authenticated" ? { kind: "roles", roles: [] } : { kind: "deny" };
}

function exact(policy: AuthPolicy, name: string): MethodRule | undefined {
  const matches: MethodRule[] = [];
  if (policy.public?.includes(name)) matches.push({ kind: "public" });
  if (policy.signed?.includes(name)) matches.push({ kind: "signed" });
  const roles = policy.roles && Object.hasOwn(policy.roles, name) ? policy.roles[name] : undefined;
  if (roles) matches.push({ kind: "roles", roles });
  if (matches.length > 1) throw new TypeError(`Method "${name}" has more than one rule in the policy`);
  return matches[0];
}

/**
 * Merges policy tables (e.g. the app's and the security services'); a method named twice is an error.
 *
 * @example
 * ```ts
 * import { mergePolicies } from "./policy.ts";
 * const policy = mergePolicies(
 *   { public: ["example.v1.GreeterService/Search"] },
 *   { roles: { "dendrite.security.v1.ConfigService/*": ["admin"] } },
 * );
 * ```
 */
export function mergePolicies(...policies: readonly AuthPolicy[]): AuthPolicy {
  const merged = {
    public: policies.flatMap((p) => p.public ?? []),
    signed: policies.flatMap((p) => p.signed ?? []),
    roles: Object.assign({}, ...policies.map((p) => p.roles ?? {})) as Record<string, readonly string[]>,
    otherwise: policies.some((p) => p.otherwise === "authenticated")
      ? "authenticated" as const
      : "deny" as const,
  };
  const names = [...merged.public, ...merged.signed, ...policies.flatMap((p) => Object.keys(p.roles ?? {}))];
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new TypeError(`Method "${duplicate}" has more than one rule in the policies`);
  return merged;
}
