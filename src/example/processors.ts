/**
 * Starting a tracking processor the way the program does: on the ports' event store, token store and registry,
 * and listed with the ports' processor host (soma's status page in embedded mode, the connector's control channel
 * when joined to a server). A processor started here shows on the dashboard and takes its actions (pause, start,
 * split, merge) with no further call; stopping it takes it off again.
 *
 * @module
 */
import {
  type EventStore,
  type MessageRegistry,
  type ProcessorOptions,
  type Projection,
  type TokenStore,
  TrackingProcessor,
} from "../dendrite/mod.ts";

/**
 * Where a process's tracking processors are listed and steered. The composition root (`wiring.ts`) puts soma or
 * the connector here.
 */
export interface ProcessorHost {
  /** Lists the processor and lets actions reach it; returns the unregister. */
  registerProcessor(processor: TrackingProcessor): () => void;
}

/** What {@link startProcessor} needs from the ports. */
export interface ProcessorPorts {
  readonly eventStore: EventStore;
  readonly tokenStore: TokenStore;
  readonly registry: MessageRegistry;
  /** Where the processor is listed (none: it runs unlisted, e.g. in unit tests). */
  readonly processors?: ProcessorHost;
}

/** A started processor. */
export interface StartedProcessor {
  readonly processor: TrackingProcessor;
  /** Takes it off the host, then stops it. */
  stop(): Promise<void>;
}

/**
 * Creates and starts a tracking processor for `projection` on the ports, and lists it with their host.
 *
 * @example
 * ```ts ignore
 * const { processor, stop } = await startProcessor(ports, greeterProjection(model, ports.queryBus), { initialSegments: 4 });
 * ```
 */
export async function startProcessor(
  ports: ProcessorPorts,
  projection: Projection,
  options: Omit<ProcessorOptions, "eventStore" | "tokenStore" | "registry">,
): Promise<StartedProcessor> {
  const processor = new TrackingProcessor(projection, {
    ...options,
    eventStore: ports.eventStore,
    tokenStore: ports.tokenStore,
    registry: ports.registry,
  });
  await processor.start();
  const unregister = ports.processors?.registerProcessor(processor) ?? (() => {});
  return {
    processor,
    async stop() {
      unregister();
      await processor.stop();
    },
  };
}

/** The host, with every processor registered on it also measured by `measured` (see `ProcessorMetrics`). */
export function measuredHost(
  host: ProcessorHost,
  measured: { track(processor: TrackingProcessor): () => void },
): ProcessorHost {
  return {
    registerProcessor(processor) {
      const untrack = measured.track(processor);
      const unregister = host.registerProcessor(processor);
      return () => {
        untrack();
        unregister();
      };
    },
  };
}
