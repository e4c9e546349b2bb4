/**
 * The RPC services as registered, once: the API modules register on a recording router, and the registrations are
 * replayed into every connect-es router the server runs (the gRPC port's and the front door's), so each service
 * implementation and its interceptors exist once. The unary methods, with their interceptors, feed the front door's
 * fast path.
 *
 * @module
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createMethodImplSpec,
  createServiceImplSpec,
  type Interceptor,
  type MethodImpl,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";

type ServiceOptions = Parameters<ConnectRouter["service"]>[2];
type RpcOptions = Parameters<ConnectRouter["rpc"]>[2];

/** One `router.service` or `router.rpc` call. */
type Registration =
  | {
    readonly kind: "service";
    readonly service: DescService;
    readonly impl: Partial<ServiceImpl<DescService>>;
    readonly options: ServiceOptions;
  }
  | {
    readonly kind: "rpc";
    readonly method: DescMethod;
    readonly impl: MethodImpl<DescMethod>;
    readonly options: RpcOptions;
  };

/** A unary method with the interceptors connect-es would run around it (outermost first). */
export interface UnaryRoute {
  readonly spec: MethodImplSpec & { kind: "unary" };
  readonly interceptors: Interceptor[];
}

/** The registrations of an API, replayable into routers. */
export interface Routes {
  /** Registers every service on `router`, in the original order. */
  replay(router: ConnectRouter): void;
  /** The unary methods by request path (`/package.Service/Method`). */
  unary(): Map<string, UnaryRoute>;
}

/**
 * Runs `register` once against a recording router.
 *
 * @example
 * ```ts ignore
 * const routes = recordRoutes((router) => router.service(GreeterService, impl, { interceptors: [auth] }));
 * routes.replay(createConnectRouter());
 * ```
 */
export function recordRoutes(register: (router: ConnectRouter) => void): Routes {
  const registrations: Registration[] = [];
  const recorder: ConnectRouter = {
    handlers: [] as UniversalHandler[],
    service(service, impl, options) {
      registrations.push({
        kind: "service",
        service,
        impl: impl as Partial<ServiceImpl<DescService>>,
        options,
      });
      return recorder;
    },
    rpc(method, impl, options) {
      registrations.push({ kind: "rpc", method, impl: impl as MethodImpl<DescMethod>, options });
      return recorder;
    },
  };
  register(recorder);
  return {
    replay(router) {
      for (const registration of registrations) {
        if (registration.kind === "service") {
          router.service(registration.service, registration.impl, registration.options);
        } else router.rpc(registration.method, registration.impl, registration.options);
      }
    },
    unary() {
      const routes = new Map<string, UnaryRoute>();
      const add = (spec: MethodImplSpec, options: ConnectRouterOptions | undefined) => {
        if (spec.kind !== "unary") return;
        const path = `/${spec.method.parent.typeName}/${spec.method.name}`;
        routes.set(path, { spec, interceptors: [...(options?.interceptors ?? [])] });
      };
      for (const registration of registrations) {
        if (registration.kind === "service") {
          const specs = createServiceImplSpec(registration.service, registration.impl);
          for (const spec of Object.values(specs.methods)) add(spec, registration.options);
        } else add(createMethodImplSpec(registration.method, registration.impl), registration.options);
      }
      return routes;
    },
  };
}
