/**
 * The live source: one long `GET <admin>/events` (server-sent events) read with a streaming body,
 * wrapped in tokio-console's Connected / Disconnected(backoff) state machine.
 *
 * @module
 */

import type { Snapshot } from "../../src/admin/wire.ts";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
import { createHub, type SnapshotSource, type SourceEvent } from "./source.ts";
import { readSse } from "./sse.ts";
import { adminEndpoint, adminHeaders, describeError, HttpStatusError } from "./url.ts";

/** Options of {@link liveSource}. */
export interface LiveSourceOptions {
  /** Base admin URL, e.g. "http://127.0.0.1:9901". */
  readonly url: string;
  /** Bearer token for the admin API. */
  readonly token?: string | undefined;
  readonly backoff?: BackoffOptions;
  /**
   * Reconnect when nothing (not even a keep-alive comment) arrived for this long. Defaults to three
   * flush intervals once the first snapshot tells the interval, at least 5 s; 15 s before that.
   */
  readonly idleTimeoutMs?: number;
  /** Stop instead of reconnecting (one-shot printers): the first failure ends the source. */
  readonly reconnect?: boolean;
  readonly now?: () => number;
}

/**
 * Subscribes to `<url>/events` and keeps the subscription alive, reconnecting with exponential
 * backoff. Emits `conn` events on every state change and a `snapshot` event per `snapshot` message.
 *
 * @example Print sequence numbers
 * ```ts
 * const source = liveSource({ url: "http://127.0.0.1:9901" });
 * source.subscribe((e) => e.type === "snapshot" && console.log(e.snapshot.seq));
 * ```
 */
export function liveSource(options: LiveSourceOptions): SnapshotSource {
  const url = options.url;
  const now = options.now ?? Date.now;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const reconnect = options.reconnect ?? true;
  const hub = createHub(() => {
    loop = run();
  });
  let closed = false;
  let loop: Promise<void> | undefined;
  let abort: AbortController | undefined;
  let wake: (() => void) | undefined;
  let sleepTimer: ReturnType<typeof setTimeout> | undefined;

  const emit = (e: SourceEvent) => {
    if (!closed) hub.emit(e);
  };

  async function connectOnce(attempt: number): Promise<boolean> {
    const controller = new AbortController();
    abort = controller;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let idleMs = options.idleTimeoutMs ?? 15_000;
    let gotSnapshot = false;
    const armIdle = () => {
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    emit({ type: "conn", conn: { kind: "connecting", url, attempt } });
    try {
      armIdle();
      const endpoint = adminEndpoint(url, "/events");
      const res = await fetch(endpoint, {
        headers: adminHeaders(options.token, "text/event-stream"),
        signal: controller.signal,
      });
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => {});
        throw new HttpStatusError(res.status, res.statusText, endpoint);
      }
      emit({ type: "conn", conn: { kind: "connected", url, since: now() } });
      await readSse(res.body, (event) => {
        if (event.event !== "snapshot") return;
        let snapshot: Snapshot;
        try {
          snapshot = JSON.parse(event.data) as Snapshot;
        } catch (e) {
          throw new Error(`Cannot parse snapshot from ${endpoint}: ${describeError(e)}`);
        }
        if (!gotSnapshot && options.idleTimeoutMs === undefined) {
          idleMs = Math.max(5000, 3 * (snapshot.server?.flushIntervalMs ?? 5000));
        }
        gotSnapshot = true;
        emit({ type: "snapshot", snapshot });
      }, armIdle);
      throw new Error("stream ended");
    } catch (error) {
      if (closed) return gotSnapshot;
      const reason = controller.signal.aborted && controller.signal.reason instanceof Error
        ? controller.signal.reason.message
        : describeError(error);
      lastError = reason;
      return gotSnapshot;
    } finally {
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      abort = undefined;
    }
  }

  let lastError = "";

  async function run(): Promise<void> {
    let attempt = 0;
    while (!closed) {
      const delivered = await connectOnce(attempt);
      if (closed) break;
      if (delivered) attempt = 0;
      const delayMs = backoffDelay(attempt, backoff);
      emit({
        type: "conn",
        conn: { kind: "reconnecting", url, attempt: attempt + 1, delayMs, retryAt: now() + delayMs, error: lastError },
      });
      if (!reconnect) break;
      attempt++;
      await new Promise<void>((resolve) => {
        wake = resolve;
        sleepTimer = setTimeout(resolve, delayMs);
      });
      sleepTimer = undefined;
      wake = undefined;
    }
  }

  return {
    kind: "live",
    description: url,
    subscribe: hub.subscribe,
    control() {
      // Pausing a live stream is a view concern (the reducer holds updates); nothing to do here.
    },
    async close() {
      closed = true;
      abort?.abort(new Error("closed"));
      if (sleepTimer !== undefined) clearTimeout(sleepTimer);
      wake?.();
      await loop;
    },
  };
}
