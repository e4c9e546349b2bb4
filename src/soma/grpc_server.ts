/**
 * soma's gRPC server: the Axon Server services (platform, commands, queries, events, the event scheduler and the
 * DCB services) over soma's routers and stores, behind the access-token interceptor and the message-size limits.
 *
 * @module
 */
import { Server } from "@grpc/grpc-js";
import { type MessageRegistry, SubscriptionLimiter, type SubscriptionLimits } from "../dendrite/mod.ts";
import { grpcService } from "../dendrite/axon/protocol/grpc.ts";
import { DcbEventScheduler, DcbEventStore, DcbSnapshotStore } from "../gen/axon/dcb_pb.ts";
import { CommandService } from "../gen/axon/command_pb.ts";
import { PlatformService } from "../gen/axon/control_pb.ts";
import { EventScheduler } from "../gen/axon/event_pb.ts";
import { QueryService } from "../gen/axon/query_pb.ts";
import type { CallerWindows } from "./caller_windows.ts";
import { commandService } from "./command_service.ts";
import type { CommandRouter } from "./commands.ts";
import { dcbSchedulerService } from "./dcb_scheduler.ts";
import { dcbEventStoreService } from "./dcb_service.ts";
import { dcbSnapshotService } from "./dcb_snapshots.ts";
import { eventStoreDefinition, eventStoreService } from "./event_service.ts";
import { axonInterceptor, lenientRequests } from "./grpc_errors.ts";
import { grpcLimitOptions, type SomaLimits } from "./limits.ts";
import type { Platform } from "./platform.ts";
import { queryService } from "./query_service.ts";
import type { TrackStream } from "./handler_stream.ts";
import type { QueryRouter } from "./queries.ts";
import { schedulerService } from "./scheduler.ts";
import type { SomaStores } from "./stores.ts";

/** What the services are built on. */
export interface SomaServerParts {
  readonly accessToken?: string;
  readonly limits: Required<SomaLimits>;
  readonly maxMessageSize: number;
  readonly platform: Platform;
  readonly commandRouter: CommandRouter;
  readonly queryRouter: QueryRouter;
  readonly registry: MessageRegistry;
  readonly stores: SomaStores;
  readonly nodeName: string;
  readonly commandTimeoutMs?: number;
  readonly queryTimeoutMs?: number;
  readonly subscriptionLimits: SubscriptionLimits;
  /** Registers an open handler stream (closed when its client is dropped); returns its removal. */
  readonly track: TrackStream;
  /** The gRPC listener's view of its callers' HTTP/2 windows, once it listens. */
  readonly callers: () => CallerWindows | undefined;
  /** Aborts at shutdown (ends long reads). */
  readonly signal: AbortSignal;
  readonly onError: (error: unknown, where: string) => void;
}

/** The gRPC server with every service soma implements (not listening yet). */
export function createSomaServer(parts: SomaServerParts): Server {
  const { maxMessageSize, stores, signal } = parts;
  const server = new Server({
    interceptors: [axonInterceptor({ accessToken: parts.accessToken })],
    // grpc-js' own limit answers without the AxonIQ-ErrorCode trailer: keep it as a hard cap above ours.
    "grpc.max_receive_message_length": Math.max(
      maxMessageSize,
      Math.min(4 * maxMessageSize, 64 * 1024 * 1024),
    ),
    "grpc.max_send_message_length": maxMessageSize,
    ...grpcLimitOptions(parts.limits),
  });
  const add = (
    definition: Parameters<Server["addService"]>[0],
    implementation: Parameters<Server["addService"]>[1],
  ) => server.addService(lenientRequests(definition, maxMessageSize), implementation);
  add(grpcService(PlatformService), parts.platform.implementation());
  add(
    grpcService(CommandService),
    commandService({
      router: parts.commandRouter,
      registry: parts.registry,
      commandTimeoutMs: parts.commandTimeoutMs,
      nodeName: parts.nodeName,
      track: parts.track,
    }),
  );
  add(
    grpcService(QueryService),
    queryService({
      router: parts.queryRouter,
      registry: parts.registry,
      queryTimeoutMs: parts.queryTimeoutMs,
      nodeName: parts.nodeName,
      track: parts.track,
      subscriptions: new SubscriptionLimiter(parts.subscriptionLimits),
      callerStream: (call) => parts.callers()?.of(call),
    }),
  );
  add(
    eventStoreDefinition(),
    eventStoreService({
      store: stores.events,
      signal,
      onFallback: (reason) => parts.onError(new Error(reason), "ListEvents"),
    }),
  );
  add(grpcService(DcbEventStore), dcbEventStoreService({ store: stores.dcbEvents, signal }));
  add(grpcService(DcbSnapshotStore), dcbSnapshotService(stores.dcbSnapshots, signal));
  add(grpcService(DcbEventScheduler), dcbSchedulerService(stores.dcbScheduler));
  add(grpcService(EventScheduler), schedulerService(stores.scheduler));
  return server;
}
