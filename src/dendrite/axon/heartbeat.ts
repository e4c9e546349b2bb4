/**
 * Heartbeats on the platform stream: the connector pings the server every interval and declares the connection
 * dead when neither an acknowledgement of its pings nor a heartbeat from the server arrived within interval +
 * timeout.
 *
 * @module
 */

/**
 * How often heartbeats are sent and how long the connector waits for a sign of life beyond the interval.
 *
 * @example
 * ```ts
 * import type { HeartbeatSettings } from "./heartbeat.ts";
 * const settings: HeartbeatSettings = { intervalMs: 10_000, timeoutMs: 7_500 };
 * console.log(settings.intervalMs + settings.timeoutMs);
 * ```
 */
export interface HeartbeatSettings {
  /** Time between two pings. */
  readonly intervalMs: number;
  /** Extra time a sign of life may take beyond the interval. */
  readonly timeoutMs: number;
}

/** The heartbeat defaults (Axon's connector: 10 s interval, 7.5 s timeout). */
export const DEFAULT_HEARTBEAT: HeartbeatSettings = { intervalMs: 10_000, timeoutMs: 7_500 };

/**
 * Sends one ping; `acknowledged` is called with whether the server acknowledged it.
 *
 * @example
 * ```ts
 * import type { SendPing } from "./heartbeat.ts";
 * const ping: SendPing = (acknowledged) => queueMicrotask(() => acknowledged(true));
 * ping((ok) => console.log("acknowledged:", ok));
 * ```
 */
export type SendPing = (acknowledged: (ok: boolean) => void) => void;

/** Watches one platform stream's heartbeats; started by the constructor, ended by `stop()`. */
export class HeartbeatMonitor {
  readonly #settings: HeartbeatSettings;
  readonly #timer: ReturnType<typeof setInterval>;
  #deadline: number;

  /** Pings through `ping` every interval; calls `expired` (at each tick) once the deadline has passed. */
  constructor(settings: HeartbeatSettings, ping: SendPing, expired: (reason: Error) => void) {
    this.#settings = settings;
    this.#deadline = this.#next();
    this.#timer = setInterval(() => {
      if (Date.now() > this.#deadline) {
        expired(new Error("Did not receive a heartbeat acknowledgement in time"));
        return;
      }
      ping((ok) => {
        if (ok) this.alive();
      });
    }, Math.min(settings.intervalMs, 1_000 * 60));
  }

  /** A sign of life from the server: moves the deadline to interval + timeout from now. */
  alive(): void {
    this.#deadline = Math.max(this.#deadline, this.#next());
  }

  /** Stops pinging. */
  stop(): void {
    clearInterval(this.#timer);
  }

  #next(): number {
    return Date.now() + this.#settings.intervalMs + this.#settings.timeoutMs;
  }
}
