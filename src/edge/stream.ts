/**
 * The contract between a downstream connection and the request stream it carries (Envoy's
 * `ActiveStream` and its connection manager), in both directions, so that `downstream.ts` and
 * `exchange.ts` depend on this file instead of on each other.
 *
 * @example
 * ```ts
 * import type { DownstreamSide, RequestStream } from "./stream.ts";
 * function finish(side: DownstreamSide, stream: RequestStream): void {
 *   side.exchangeDone(stream, true);
 * }
 * ```
 * @module
 */
import type { TcpSocket } from "../runtime/types.ts";
import type { ConnectionRecord } from "../worker/connection_table.ts";
import type { ClusterRuntime } from "./cluster.ts";
import type { WorkerContext } from "./context.ts";
import type { ListenerSlot } from "./listener.ts";

/** What a request stream uses of the connection that carries it. */
export interface DownstreamSide {
  readonly ctx: WorkerContext;
  readonly row: ConnectionRecord;
  readonly slot: ListenerSlot;
  readonly socket: TcpSocket;
  /** The worker's clusters, by name. */
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  /** No further request will be read: the connection closes after this response. */
  closeAfterResponse: boolean;
  /** Write `bytes[start, end)` to the client. Returns false under back-pressure (a `drain` follows). */
  send(bytes: Uint8Array, start?: number, end?: number): boolean;
  /** Close the connection at once, as weft's own decision (a stream that can no longer finish). */
  reset(): void;
  /** Stop (true) or restart (false) reading the client, for upstream back-pressure. */
  setExchangePause(paused: boolean): void;
  /** The stream is over; `keepOpen` false ends the connection. */
  exchangeDone(stream: RequestStream, keepOpen: boolean): void;
}

/** What the connection drives on the request stream it carries. */
export interface RequestStream {
  /** True while request body bytes are still expected. */
  readonly wantsRequestBody: boolean;
  /** Route the request and answer it or start forwarding it. */
  start(): void;
  /** Feed request body bytes `buf[start, end)`; returns how many belonged to this body. */
  requestBody(buf: Uint8Array, start: number, end: number): number;
  /** The client's socket drained: resume what waited for it. */
  onDownstreamDrain(): void;
  /** The client went away mid-stream. */
  downstreamClosed(): void;
  /**
   * Enforce `request_timeout` and `stream_idle_timeout`; `lastActivityAt` is when a byte of this
   * stream last moved to or from the client (`performance.now()` clock).
   */
  checkStreamTimeouts(now: number, lastActivityAt: number): void;
}
