/**
 * One downstream HTTP/1.1 connection (Envoy's HTTP connection manager for a connection): reads
 * request heads with the strict codec, routes each request, answers locally or hands it to an
 * {@linkcode Exchange} that forwards it upstream. Requests on a connection are served in order;
 * pipelined bytes wait in a bounded buffer (the socket is paused past it), and no further request
 * is read while more than the connection buffer limit of output waits to be sent.
 *
 * @module
 */
import type { SocketHandlers, TcpSocket } from "../runtime/types.ts";
import type { ConnectionRecord } from "../worker/connection_table.ts";
import type { WorkerContext } from "./context.ts";
import { Exchange } from "./exchange.ts";
import { parseRequestHead, statusText } from "./http1/mod.ts";
import type { ListenerSlot } from "./listener.ts";
import { localReply } from "./local_reply.ts";
import type { ClusterRuntime } from "./cluster.ts";
import type { Counter } from "../stats/scope.ts";
import type { DownstreamSide, RequestStream } from "./stream.ts";

const EMPTY = new Uint8Array(0);
/**
 * Envoy's default `delayed_close_timeout`: a connection being closed whose output has not moved for
 * this long (a client that reads nothing) is closed at once instead of waiting for it forever.
 */
const DELAYED_CLOSE_TIMEOUT_MS = 1000;

export interface DownstreamHost {
  ctx: WorkerContext;
  clusters: Map<string, ClusterRuntime>;
  /** Called when a connection is gone, so drain can tell when the worker is empty. */
  onConnectionClosed(conn: DownstreamConnection): void;
}

export class DownstreamConnection implements SocketHandlers, DownstreamSide {
  readonly row: ConnectionRecord;
  /**
   * Unparsed bytes: the start of the next request head, or pipelined requests. While a `data` call
   * runs it may be the socket's own chunk (borrowed, no copy); what is left when the call returns
   * is copied, and an empty buffer is dropped, so an idle connection holds no buffer at all.
   */
  private buf: Uint8Array = EMPTY;
  private bufStart = 0;
  private bufEnd = 0;
  private inData = false;
  exchange: RequestStream | null = null;
  /** No new request will be read; close once the current one finishes. */
  closeAfterResponse = false;
  private pausedForBuffer = false;
  private pausedByExchange = false;
  /** Not read while a full output buffer drains (see `outputFull`). */
  private pausedForOutput = false;
  /** A `send` returned false: the socket emits `drain` once its queue is empty. */
  private awaitingDrain = false;
  /** `pump` is running: a request it started that ends at once must not start the next one itself. */
  private pumping = false;
  /** When the first byte of a request head still incomplete arrived (request_headers_timeout), or 0. */
  private headStartedAt = 0;
  /**
   * When a byte of the current stream (or of a request head arriving) last moved to or from the
   * client (`performance.now()` clock): stream_idle_timeout.
   */
  private lastByteAt = 0;
  private maxRequestsCounted = false;
  /** The socket was ended: it closes once its output is written (see `closeAfterFlush`). */
  private closing = false;
  /** While closing: output bytes still queued at the last check, and when they last went down. */
  private closingPendingBytes = 0;
  private closingProgressAt = 0;
  /** weft destroyed the socket itself (`reset`): a local close, not the client's. */
  private resetLocally = false;
  closed = false;

  constructor(readonly socket: TcpSocket, readonly slot: ListenerSlot, readonly host: DownstreamHost) {
    const d = host.ctx.dispatcher;
    this.row = d.connections.open(socket.remoteAddress, socket.remotePort, slot.current.config.name, "http");
    slot.stats.cxTotal.inc();
    slot.stats.cxActive.inc();
    slot.stats.workerCxTotal.inc();
    slot.stats.workerCxActive.inc();
    slot.current.http.cxTotal.inc();
    slot.current.http.cxActive.inc();
  }

  get ctx(): WorkerContext {
    return this.host.ctx;
  }

  get clusters(): ReadonlyMap<string, ClusterRuntime> {
    return this.host.clusters;
  }

  data(_s: TcpSocket, bytes: Uint8Array): void {
    const loop = this.host.ctx.dispatcher.loop;
    loop.enter();
    const n = bytes.byteLength;
    const row = this.row;
    row.bytesIn += n;
    row.lastActivityAt = loop.wallNow();
    const ex = this.exchange;
    // Bytes that arrive once the current request is whole belong to the next one: they are no
    // activity of the current stream, or a trickled pipelined request would keep it alive forever.
    if (ex === null || ex.wantsRequestBody) this.lastByteAt = loop.now();
    this.host.ctx.dispatcher.connections.touch(row);
    this.slot.current.http.cxRxBytes.inc(n);
    this.inData = true;
    if (this.bufEnd > this.bufStart) this.append(bytes);
    else if (ex !== null && ex.wantsRequestBody) {
      const used = ex.requestBody(bytes, 0, n);
      if (used < n && !this.closed) this.borrow(bytes.subarray(used));
    } else this.borrow(bytes);
    this.pump();
    this.inData = false;
    this.settle();
    loop.leave();
  }

  private borrow(bytes: Uint8Array): void {
    this.buf = bytes;
    this.bufStart = 0;
    this.bufEnd = bytes.byteLength;
    this.owned = false;
  }

  /**
   * Outside a `data` call the buffer must be ours: copy what is left of a borrowed chunk, drop an
   * empty one, shrink one of ours that is mostly spent. One of ours that is at least a quarter full
   * is kept: shrinking it to fit made every chunk that arrived while requests waited (a paused
   * pipeline) copy the whole buffer twice, quadratic in what waits.
   */
  private settle(): void {
    if (this.bufStart === this.bufEnd) {
      this.buf = EMPTY;
      this.bufStart = this.bufEnd = 0;
    } else if (!this.owned || (this.bufEnd - this.bufStart) * 4 < this.buf.byteLength) {
      this.buf = this.buf.slice(this.bufStart, this.bufEnd);
      this.bufEnd -= this.bufStart;
      this.bufStart = 0;
    }
    this.owned = this.buf !== EMPTY;
  }

  /** Whether `buf` is a copy this connection owns (else a borrowed socket chunk). */
  private owned = false;

  private append(bytes: Uint8Array): void {
    if (!this.owned) {
      // A borrowed chunk cannot grow: make the buffer ours first.
      this.buf = this.buf.slice(this.bufStart, this.bufEnd);
      this.bufEnd -= this.bufStart;
      this.bufStart = 0;
      this.owned = true;
    }
    const len = bytes.byteLength;
    if (this.bufEnd + len > this.buf.byteLength) {
      const live = this.bufEnd - this.bufStart;
      if (this.bufStart > 0 && live + len <= this.buf.byteLength) {
        this.buf.copyWithin(0, this.bufStart, this.bufEnd);
      } else {
        const next = new Uint8Array(Math.max(4096, (live + len) * 2));
        next.set(this.buf.subarray(this.bufStart, this.bufEnd));
        this.buf = next;
      }
      this.bufStart = 0;
      this.bufEnd = live;
    }
    this.buf.set(bytes, this.bufEnd);
    this.bufEnd += len;
  }

  /**
   * Serve what is buffered: finish feeding the current body, then parse and start the next requests.
   * Not re-entered: a request answered at once (a local reply) returns here through `exchangeDone`,
   * and this loop goes on with the next one, so pipelined requests never deepen the stack.
   */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.serveBuffered();
    } finally {
      this.pumping = false;
    }
    this.updateBufferPause();
  }

  private serveBuffered(): void {
    while (!this.closed) {
      const ex = this.exchange;
      if (ex !== null) {
        if (ex.wantsRequestBody && this.bufEnd > this.bufStart) {
          const used = ex.requestBody(this.buf, this.bufStart, this.bufEnd);
          this.bufStart += used;
          if (this.bufStart === this.bufEnd) this.bufStart = this.bufEnd = 0;
          if (this.exchange === ex) break;
          continue;
        }
        break;
      }
      if (this.closeAfterResponse || this.bufEnd === this.bufStart) break;
      if (this.outputFull()) {
        // The client is not reading: stop reading its requests until the output drains.
        this.pausedForOutput = true;
        this.syncPause();
        break;
      }
      const listener = this.slot.current;
      // A whole chunk needs no view (creating one costs more than parsing a small head in JavaScriptCore).
      const view = this.bufStart === 0 && this.bufEnd === this.buf.byteLength ? this.buf : this.buf.subarray(this.bufStart, this.bufEnd);
      const result = parseRequestHead(view, listener.limits);
      const now = this.host.ctx.dispatcher.loop.now();
      if (result.status === "incomplete") {
        if (this.headStartedAt === 0) this.headStartedAt = now;
        break;
      }
      const streamStartedAt = this.headStartedAt === 0 ? now : this.headStartedAt;
      this.headStartedAt = 0;
      if (result.status === "error") {
        this.protocolError(result.code);
        return;
      }
      const head = result.head;
      this.bufStart += head.headBytes;
      if (this.bufStart === this.bufEnd) this.bufStart = this.bufEnd = 0;
      this.row.requests++;
      this.host.ctx.dispatcher.totalRequests++;
      if (!head.keepAlive) this.closeAfterResponse = true;
      const maxRequests = listener.config.http.maxRequestsPerConnection;
      if (maxRequests > 0 && this.row.requests >= maxRequests) {
        this.closeAfterResponse = true;
        if (!this.maxRequestsCounted) listener.http.cxMaxRequestsReached.inc();
        this.maxRequestsCounted = true;
      }
      const exchange = new Exchange(this, listener, head, streamStartedAt);
      this.exchange = exchange;
      exchange.start();
    }
  }

  /** Pause reading while pipelined bytes pile up beyond the connection buffer limit. */
  private updateBufferPause(): void {
    const over = this.bufEnd - this.bufStart > this.slot.current.config.perConnectionBufferLimitBytes;
    if (over && !this.pausedForBuffer) {
      this.pausedForBuffer = true;
      this.syncPause();
    } else if (!over && this.pausedForBuffer) {
      this.pausedForBuffer = false;
      this.syncPause();
    }
  }

  /** The exchange asks to stop (upstream back-pressure) or restart reading. */
  setExchangePause(paused: boolean): void {
    this.pausedByExchange = paused;
    this.syncPause();
  }

  /**
   * Whether more output waits than the connection buffer limit (`per_connection_buffer_limit_bytes`),
   * with a `drain` to come: then no further request is read (Envoy's high watermark).
   */
  private outputFull(): boolean {
    return this.awaitingDrain && this.socket.pendingBytes > this.slot.current.config.perConnectionBufferLimitBytes;
  }

  private syncPause(): void {
    if (this.closed) return;
    if (this.pausedForBuffer || this.pausedByExchange || this.pausedForOutput) this.socket.pause();
    else this.socket.resume();
  }

  private protocolError(code: number): void {
    const http = this.slot.current.http;
    http.cxProtocolError.inc();
    http.rqTotal.inc();
    http.rqByClass[3]!.inc();
    if (code === 431) http.rqHeaderOverflow.inc();
    // Envoy answers a codec error with the status's reason phrase as the body.
    this.send(localReply(code, statusText(code), { close: true, server: this.slot.current.config.http.serverName }));
    this.closeAfterFlush();
  }

  /** Write `bytes[start, end)` to the client, counting bytes. Returns false under back-pressure. */
  send(bytes: Uint8Array, start = 0, end = bytes.byteLength): boolean {
    this.row.bytesOut += end - start;
    this.slot.current.http.cxTxBytes.inc(end - start);
    this.lastByteAt = this.host.ctx.dispatcher.loop.now();
    if (this.socket.write(bytes, start, end)) return true;
    this.awaitingDrain = true;
    return false;
  }

  /** The current exchange is over; continue with the next pipelined request or close. */
  exchangeDone(ex: RequestStream, keepOpen: boolean): void {
    if (this.exchange !== ex) return;
    this.exchange = null;
    this.pausedByExchange = false;
    // The connection is idle from now (Envoy arms its idle timer when the last stream ends), not
    // from the client's last byte, which may be as old as the response was long.
    this.row.lastActivityAt = this.host.ctx.dispatcher.loop.wallNow();
    this.host.ctx.dispatcher.connections.touch(this.row);
    if (!keepOpen || this.closeAfterResponse) {
      this.closeAfterFlush();
      return;
    }
    this.syncPause();
    // Pipelined requests already received are served now.
    this.pump();
    if (!this.inData) this.settle();
  }

  /**
   * Enforce the stream timeouts (`request_headers_timeout`, `request_timeout`, `stream_idle_timeout`:
   * the current request's, or while a request head arrives, 408 with Envoy's bodies) and the
   * connection idle timeout (`common_http_protocol_options.idle_timeout`, close). Called by the
   * worker's sweep; `now` is the wall clock, `perfNow` the `performance.now()` one.
   */
  checkTimeouts(now: number, perfNow: number): void {
    if (this.closed) return;
    // A closing connection has no request left to time out: only its flush is watched.
    if (this.closing) return this.checkDelayedClose(perfNow);
    const ex = this.exchange;
    if (ex !== null) {
      ex.checkStreamTimeouts(perfNow, this.lastByteAt);
      return;
    }
    const listener = this.slot.current;
    const hcm = listener.config.http;
    const http = listener.http;
    const started = this.headStartedAt;
    if (started > 0) {
      // Envoy's stream starts with the request's first byte: its timeouts run while the head arrives.
      if (hcm.requestHeadersTimeoutMs > 0 && perfNow - started > hcm.requestHeadersTimeoutMs) {
        return this.headTimeout(http.rqHeaderTimeout, "request header timeout");
      }
      if (hcm.requestTimeoutMs > 0 && perfNow - started > hcm.requestTimeoutMs) return this.headTimeout(http.rqTimeout, "request timeout");
      if (hcm.streamIdleTimeoutMs > 0 && perfNow - Math.max(started, this.lastByteAt) > hcm.streamIdleTimeoutMs) {
        return this.headTimeout(http.rqIdleTimeout, "stream timeout");
      }
    }
    if (hcm.idleTimeoutMs > 0 && now - this.row.lastActivityAt > hcm.idleTimeoutMs) {
      http.cxIdleTimeout.inc();
      this.closeAfterFlush();
    }
  }

  /**
   * Stop reading requests and close once everything written is sent (Envoy's `FlushWriteAndDelay`).
   * If the output stops moving meanwhile, `checkDelayedClose` closes at once.
   */
  private closeAfterFlush(): void {
    this.closeAfterResponse = true;
    if (this.closing) return;
    this.closing = true;
    this.closingPendingBytes = this.socket.pendingBytes;
    this.closingProgressAt = this.host.ctx.dispatcher.loop.now();
    this.socket.end();
  }

  /**
   * A closing connection whose queued output has not gone down for `DELAYED_CLOSE_TIMEOUT_MS` is
   * destroyed and counted (`downstream_cx_delayed_close_timeout`), as Envoy's delayed close timer
   * does; each write that moves re-arms it.
   */
  private checkDelayedClose(now: number): void {
    const pending = this.socket.pendingBytes;
    if (pending < this.closingPendingBytes) {
      this.closingPendingBytes = pending;
      this.closingProgressAt = now;
    } else if (now - this.closingProgressAt > DELAYED_CLOSE_TIMEOUT_MS) {
      this.slot.current.http.cxDelayedCloseTimeout.inc();
      this.reset();
    }
  }

  /** A timeout fired while a request head was arriving: count it, answer 408 and close. */
  private headTimeout(counter: Counter, body: string): void {
    const listener = this.slot.current;
    counter.inc();
    listener.http.rqTotal.inc();
    listener.http.rqByClass[3]!.inc();
    this.closeAfterResponse = true;
    this.send(localReply(408, body, { close: true, server: listener.config.http.serverName }));
    this.closeAfterFlush();
  }

  /** Close an idle connection (drain); a busy one closes after its response. */
  closeWhenIdle(): void {
    this.closeAfterResponse = true;
    if (this.exchange === null) this.closeAfterFlush();
  }

  /** Close at once, counted as a local close (Envoy's `downstream_cx_destroy_local_active_rq` with a stream active). */
  reset(): void {
    this.resetLocally = true;
    this.socket.destroy();
  }

  drain(_s: TcpSocket): void {
    const loop = this.host.ctx.dispatcher.loop;
    loop.enter();
    this.awaitingDrain = false;
    this.exchange?.onDownstreamDrain();
    if (this.pausedForOutput && !this.closed) {
      // Serve the requests that waited for the output to drain, then read again.
      this.pausedForOutput = false;
      this.syncPause();
      this.pump();
      if (!this.inData) this.settle();
    }
    loop.leave();
  }

  close(_s: TcpSocket, _error?: Error): void {
    if (this.closed) return;
    const loop = this.host.ctx.dispatcher.loop;
    loop.enter();
    this.closed = true;
    const http = this.slot.current.http;
    http.cxActive.dec();
    http.cxDestroy.inc();
    this.slot.stats.cxActive.dec();
    this.slot.stats.workerCxActive.dec();
    this.host.ctx.dispatcher.connections.close(this.row);
    const ex = this.exchange;
    this.exchange = null;
    if (ex !== null) {
      (this.resetLocally ? http.cxDestroyLocalActiveRq : http.cxDestroyRemoteActiveRq).inc();
      ex.downstreamClosed();
    }
    this.host.onConnectionClosed(this);
    loop.leave();
  }
}
