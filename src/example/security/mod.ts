/**
 * The security domain of the example: keys, credentials and configuration as events, the security API, the
 * greeter's access policy and embedded provisioning.
 *
 * @example
 * ```ts ignore
 * const { security } = await provisionEmbedded({ dataDir: "data", commandBus, eventStore, registry });
 * connectNodeAdapter({
 *   routes: (router) => { registerSecurityServices(router, security); registerGreeterApi(router); },
 *   interceptors: [security.interceptor(GREETER_POLICY)],
 * });
 * ```
 *
 * @module
 */
export * from "./aggregates.ts";
export * from "./client.ts";
export * from "./core.ts";
export * from "./login_limits.ts";
export * from "./model.ts";
export * from "./policy.ts";
export * from "./properties.ts";
export * from "./provision.ts";
export * from "./root_key.ts";
export * from "./runtime.ts";
export * from "./services.ts";
export * from "./status_section.ts";
export * from "./trust.ts";
