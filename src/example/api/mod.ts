/**
 * The example's API: `example.v1.GreeterService` on the CommandBus and QueryBus, with the error mapping and,
 * when given, the auth interceptor (`startApi` in `../api_role.ts` installs `GREETER_POLICY`).
 *
 * @module
 */
import type { Interceptor } from "@connectrpc/connect";
import {
  type CommandBus,
  DEFAULT_SUBSCRIPTION_LIMITS,
  type QueryBus,
  SubscriptionLimiter,
  type SubscriptionLimits,
} from "../../dendrite/mod.ts";
import { GreeterService } from "../../gen/example/v1/greeter_pb.ts";
import type { ApiRoutes } from "../../server/mod.ts";
import type { Logger } from "../../server/log.ts";
import { DEFAULT_GREETER } from "../greeter/mod.ts";
import { errorMappingInterceptor } from "./errors.ts";
import { greeterService } from "./greeter_service.ts";

export { ERROR_CODE_KEY, toConnectError } from "./errors.ts";
export { CORRELATION_HEADER } from "./greeter_service.ts";

/** What the API needs. */
export interface ExampleApiOptions {
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  readonly logger: Logger;
  /** Default {@link DEFAULT_GREETER}. */
  readonly greeterId?: string;
  /**
   * The auth interceptor (e.g. `security.interceptor(GREETER_POLICY)`); it runs inside the error mapping. Without
   * it every method is open and handlers see no claims (benchmarks, tests of the bare API).
   */
  readonly auth?: Interceptor;
  /** Bounds of live Greetings streams (default {@link DEFAULT_SUBSCRIPTION_LIMITS}, the bus's update buffer). */
  readonly subscriptions?: SubscriptionLimits & { readonly buffer?: number };
}

/**
 * The example's RPC routes.
 *
 * @example
 * ```ts ignore
 * const auth = security.interceptor(GREETER_POLICY);
 * const server = await startServer({ port: 8080, logger, api: exampleApi({ ...app.ports, logger, auth }) });
 * ```
 */
export function exampleApi(options: ExampleApiOptions): ApiRoutes {
  const subscriptions = new SubscriptionLimiter(options.subscriptions ?? DEFAULT_SUBSCRIPTION_LIMITS);
  return (router, { shutdown }) => {
    router.service(
      GreeterService,
      greeterService({
        commandBus: options.commandBus,
        queryBus: options.queryBus,
        greeterId: options.greeterId ?? DEFAULT_GREETER,
        shutdown,
        subscriptions,
        subscriptionBuffer: options.subscriptions?.buffer,
      }),
      { interceptors: [errorMappingInterceptor(options.logger), ...(options.auth ? [options.auth] : [])] },
    );
  };
}
