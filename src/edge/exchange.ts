/**
 * One request's trip through the proxy (Envoy's router filter for one stream): route it, answer
 * locally or pick a cluster and host, take a pooled upstream connection, forward the request head
 * and body bytes, read the response head, forward the response, and record every stat.
 *
 * Bodies are forwarded as the bytes that arrived; the codec only tracks where they end, so a body
 * of any size streams through with back-pressure both ways and is never buffered whole.
 *
 * @module
 */
import type { ClusterRouteAction, RedirectAction } from "../config/types.ts";
import type { TaskRecord } from "../worker/task_table.ts";
import type { ClusterRuntime, Host, UpstreamConnection, UpstreamUser } from "./cluster.ts";
import { closeAfterThisResponse } from "./context.ts";
import type { Expirable } from "./deadlines.ts";
import { BodyFramer, parsedFields, parseResponseHead } from "./http1/mod.ts";
import type { RequestHead, ResponseHead } from "./http1/types.ts";
import type { ListenerRuntime } from "./listener.ts";
import { pickWeighted } from "./load_balancer.ts";
import { type HeadWriter, headWriter } from "./head_writer.ts";
import { decideForwarding, dropsEnvoyField, forwarding, teAcceptsTrailers } from "./forwarded.ts";
import { ENVOY_BODIES, localReply } from "./local_reply.ts";
import { normalizeHost, type RouteMatchResult } from "./router.ts";
import type { DownstreamSide, RequestStream } from "./stream.ts";
import { type ProtocolSwitch, protocolSwitch, SwitchedEnd, switchAllowed } from "./upgrades.ts";
import { relay } from "../net/relay.ts";

const encoder = new TextEncoder();
/** Request-head headers that are per hop, not forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "expect", "host"]);
/**
 * Response fields not forwarded: the hop-by-hop ones, and those weft sets itself, replacing the
 * upstream's as Envoy does. Each must be one of the codec's known names (`parsedFields.knownName`).
 */
const RESPONSE_NOT_FORWARDED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "server",
  "x-envoy-upstream-service-time",
]);
const RESPONSE_HEAD_LIMITS = { maxHeadBytes: 96 * 1024, maxHeaders: 200 };
/** The response's fields are copied through as bytes, never decoded (see `startResponse`). */
const RESPONSE_HEAD_OPTIONS = { decodeFields: false };
const CONTINUE_100 = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

/** `switched`: the upstream accepted an upgrade (101) and bytes are relayed both ways. */
type Phase = "request" | "connecting" | "waiting" | "streaming" | "switched" | "done";

export class Exchange implements UpstreamUser, Expirable, RequestStream {
  private phase: Phase = "request";
  private task: TaskRecord;
  private readonly startedAt: number;
  private reqFramer: BodyFramer | null;
  private requestDone: boolean;
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  private cluster: ClusterRuntime | null = null;
  private host: Host | null = null;
  private upstream: UpstreamConnection | null = null;
  private reused = false;
  private retried = false;
  private sentUpstreamAt = 0;
  private respBuf: Uint8Array | null = null;
  private respHead: ResponseHead | null = null;
  private respFramer: BodyFramer | null = null;
  private respBytes = 0;
  private headersSent = false;
  /** Route timeout deadline (performance.now()), 0 when not armed. See `deadlines.ts`. */
  deadline = 0;
  /** This exchange's place among the worker's armed deadlines. */
  slot = -1;
  private timeoutMs = 0;
  private pausedUpstream = false;
  private match: RouteMatchResult | null = null;
  private action: ClusterRouteAction | null = null;
  /** The protocol switch (CONNECT, Upgrade) the request asks for; such a request's upstream connection is never pooled. */
  private readonly protocolSwitch: ProtocolSwitch | null;
  /** The Upgrade asked for is enabled where the request matched: it goes upstream with its fields. */
  private upgrading = false;
  /** Once switched: the upstream connection's end of the relay. */
  private upstreamEnd: SwitchedEnd | null = null;
  /** Once switched: the client connection's end of the relay. */
  private downstreamEnd: SwitchedEnd | null = null;

  /**
   * `streamStartedAt` is when the request's first byte arrived (`performance.now()` clock):
   * `request_timeout` counts from there, as Envoy's stream starts with the message.
   */
  constructor(
    readonly conn: DownstreamSide,
    readonly listener: ListenerRuntime,
    readonly head: RequestHead,
    private readonly streamStartedAt: number,
  ) {
    const d = conn.ctx.dispatcher;
    this.startedAt = d.loop.now();
    this.task = d.tasks.start(conn.row.id, listener.config.name, head.method, head.target);
    this.reqFramer = head.bodyKind === "none" ? null : new BodyFramer(head.bodyKind, head.contentLength);
    this.requestDone = this.reqFramer === null;
    this.protocolSwitch = protocolSwitch(head);
    listener.http.rqTotal.inc();
    listener.http.rqActive.inc();
  }

  /** True while request body bytes are still expected. */
  get wantsRequestBody(): boolean {
    return !this.requestDone && this.phase !== "done";
  }

  start(): void {
    const head = this.head;
    const http = this.listener.http;
    const hcm = this.listener.config.http;
    if (head.host !== null && (hcm.stripTrailingHostDot || hcm.stripHostPort !== "none")) {
      head.host = normalizeHost(head.host, hcm.stripTrailingHostDot, hcm.stripHostPort, this.conn.socket.localPort, head.method === "CONNECT");
    }
    const wanted = this.protocolSwitch;
    // Only connect_matcher routes take a CONNECT (it has no path), and weft has none yet.
    const match = wanted?.kind === "connect" ? null : this.listener.router.match(head.host, head.path + head.query, head.headers);
    if (match === null) {
      http.noRoute.inc();
      // What follows a refused CONNECT or Upgrade head may be the new protocol's bytes, never a request.
      if (wanted !== null) this.conn.closeAfterResponse = true;
      this.localResponse(404, null);
      return;
    }
    if (wanted !== null && !switchAllowed(wanted, hcm, match.route.route)) {
      http.rqWsOnNonWsRoute.inc();
      this.conn.closeAfterResponse = true;
      this.localResponse(403, null);
      return;
    }
    this.upgrading = wanted !== null;
    if (this.upgrading) {
      // Envoy counts an upgrade once its filter chain is made (here), whatever the upstream answers.
      http.cxUpgradesTotal.inc();
      http.cxUpgradesActive.inc();
    }
    this.match = match;
    this.task.route = match.route.label;
    const action = match.route.route.action;
    switch (action.type) {
      case "direct_response":
        http.rqDirectResponse.inc();
        this.localResponse(action.status, action.body);
        return;
      case "redirect":
        http.rqRedirect.inc();
        this.localResponse(action.responseCode, null, ["location", this.redirectLocation(action)]);
        return;
      case "route":
        this.proxy(action);
        return;
    }
  }

  private proxy(action: ClusterRouteAction): void {
    const choice = pickWeighted(action.clusters, action.totalWeight);
    const cluster = this.conn.clusters.get(choice.name);
    this.task.cluster = choice.name;
    if (cluster === undefined) {
      this.listener.http.noCluster.inc();
      this.localResponse(503, null);
      return;
    }
    this.cluster = cluster;
    cluster.stats.rqTotal.inc();
    cluster.stats.rqActive.inc();
    this.timeoutMs = action.timeoutMs;
    if (this.head.expectContinue && !this.requestDone) this.conn.send(CONTINUE_100);
    this.action = action;
    if (this.requestDone) this.armTimeout();
    this.connectUpstream(false);
  }

  private connectUpstream(fresh: boolean): void {
    const cluster = this.cluster!;
    const host = cluster.pickHost();
    if (host === null) {
      cluster.stats.cxNoneHealthy.inc();
      this.failBeforeHeaders(503, ENVOY_BODIES.noHealthyUpstream);
      return;
    }
    this.host = host;
    host.activeRequests++;
    host.stats.rqTotal.inc();
    host.stats.rqActive.inc();
    if (fresh) host.idle.splice(0).forEach((c) => c.destroy());
    const conn = cluster.acquire(host, this);
    const reused = conn.connected;
    this.upstream = conn;
    this.reused = reused;
    if (reused) this.onUpstreamConnected(conn);
    else {
      this.phase = "connecting";
      this.conn.ctx.dispatcher.tasks.setState(this.task, "connecting_upstream");
    }
  }

  /**
   * The request head as forwarded upstream, into `w`: hop-by-hop fields dropped (also those
   * `Connection` nominates), then Envoy's request mutations (src/edge/forwarded.ts): the trusted
   * client decides `x-forwarded-for`, `x-envoy-internal`, `x-envoy-external-address` and which
   * client `x-envoy-*` fields go; weft's own `x-forwarded-proto`, `x-request-id`,
   * `x-envoy-expected-rq-timeout-ms` and `x-envoy-original-path` (the path before prefix_rewrite)
   * replace the client's, never beside them.
   */
  private writeUpstreamHead(w: HeadWriter): void {
    const head = this.head;
    const action = this.action!;
    const hcm = this.listener.config.http;
    // An absolute-form target is forwarded as its path and query (Envoy splits it into :path and Host).
    let target = head.target.charCodeAt(0) === 0x2f ? head.target : head.path + head.query;
    // The path before prefix_rewrite, for Envoy's x-envoy-original-path; null when not rewritten.
    let originalPath: string | null = null;
    if (action.prefixRewrite !== null && this.match !== null) {
      const m = this.match.route.route.match;
      if (m.kind === "prefix" || m.kind === "path") {
        originalPath = target;
        target = action.prefixRewrite + target.slice(m.value.length);
      }
    }
    const nominated = head.connectionNominated;
    // A nominated field is gone before anything reads it (Envoy's codec removes them), XFF too.
    const xff = nominated !== null && nominated.includes("x-forwarded-for") ? null : head.forwardedFor;
    decideForwarding(this.conn.socket.remoteAddress, xff, hcm.useRemoteAddress, hcm.xffNumTrustedHops, hcm.internalAddressRanges);
    const edge = forwarding.edge;
    // Envoy trusts a client's x-forwarded-proto only from a trusted proxy.
    const keepProto = !hcm.useRemoteAddress || hcm.xffNumTrustedHops > 0;
    const generateId = hcm.generateRequestId;
    const ownTimeout = action.timeoutMs > 0;
    w.reset();
    w.text(head.method);
    w.text(" ");
    w.text(target);
    w.text(head.minor === 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    w.field("host", action.hostRewriteLiteral ?? head.host ?? "");
    let hasProto = false;
    let requestId = false;
    let teSeen = false;
    const h = head.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      if (HOP_BY_HOP.has(name)) {
        // Envoy forwards TE as `te: trailers` alone, once, when a TE field lists that token.
        if (name === "te" && !teSeen) {
          teSeen = true;
          if (teAcceptsTrailers(h)) w.field("te", "trailers");
        }
        continue;
      }
      if (nominated !== null && nominated.includes(name)) continue;
      // Only x- names need a second look; a cheap test keeps the common field on the fast path.
      if (name.charCodeAt(0) === 0x78 && name.charCodeAt(1) === 0x2d) {
        if (name === "x-forwarded-for") continue;
        if (name === "x-forwarded-proto") {
          if (!keepProto) continue;
          hasProto = true;
        } else if (name === "x-request-id") {
          if (generateId && edge) continue;
          requestId = true;
        } else if (name.startsWith("x-envoy-")) {
          if (dropsEnvoyField(name)) continue;
          if (ownTimeout && name === "x-envoy-expected-rq-timeout-ms") continue;
          if (originalPath !== null && name === "x-envoy-original-path") continue;
        }
      }
      w.field(name, h[i + 1]!);
    }
    if (hcm.useRemoteAddress) {
      // Appended as Envoy's header map appends: after a bare ",", none after an empty value.
      w.text("x-forwarded-for: ");
      if (xff !== null && xff !== "") {
        w.text(xff);
        w.text(",");
      }
      w.text(this.conn.socket.remoteAddress);
      w.crlf();
    } else if (xff !== null) {
      w.field("x-forwarded-for", xff);
    }
    if (!hasProto) w.field("x-forwarded-proto", "http");
    if (forwarding.internal) w.field("x-envoy-internal", "true");
    if (edge) w.field("x-envoy-external-address", forwarding.clientAddress);
    if (!requestId && generateId) {
      w.text("x-request-id: ");
      w.uuid4();
      w.crlf();
    }
    if (originalPath !== null) w.field("x-envoy-original-path", originalPath);
    if (ownTimeout) {
      w.text("x-envoy-expected-rq-timeout-ms: ");
      w.decimal(action.timeoutMs);
      w.crlf();
    }
    if (this.upgrading) {
      // The only hop-by-hop fields forwarded: an enabled upgrade asks the upstream to switch too.
      w.field("connection", "upgrade");
      w.field("upgrade", head.upgrade ?? "");
    } else if (head.minor === 0) {
      // HTTP/1.0 clients cannot read chunked responses: ask the upstream for a 1.0 response.
      w.field("connection", "close");
    }
    w.crlf();
  }

  private redirectLocation(a: RedirectAction): string {
    const head = this.head;
    const scheme = a.schemeRedirect ?? "http";
    let host = a.hostRedirect ?? (head.host ?? "");
    if (a.portRedirect !== null) host = `${host.replace(/:\d+$/, "")}:${a.portRedirect}`;
    let path = head.path;
    if (a.pathRedirect !== null) path = a.pathRedirect;
    else if (a.prefixRewrite !== null && this.match?.route.route.match.kind === "prefix") {
      path = a.prefixRewrite + path.slice(this.match.route.route.match.value.length);
    }
    const query = a.stripQuery ? "" : head.query;
    return `${scheme}://${host}${path}${query}`;
  }

  // ---- request body -------------------------------------------------------------------------

  /** Feed request body bytes `buf[start, end)`; returns how many belonged to this body. */
  requestBody(buf: Uint8Array, start: number, end: number): number {
    const framer = this.reqFramer!;
    const r = framer.push(buf, start, end);
    if (r.status === "error") {
      this.conn.slot.current.http.cxProtocolError.inc();
      this.abortRequest(400, "Bad Request");
      return end - start;
    }
    if (r.used > 0) this.forwardBody(buf, start, start + r.used);
    if (r.done) {
      this.requestDone = true;
      if (this.phase !== "done") {
        this.armTimeout();
        if (this.phase === "request" && this.upstream === null) this.conn.ctx.dispatcher.tasks.setState(this.task, "waiting_response");
      }
    }
    return r.used;
  }

  /** Send request body bytes `buf[start, end)` upstream, or keep them until it is connected. */
  private forwardBody(buf: Uint8Array, start: number, end: number): void {
    if (this.phase === "done") return;
    const up = this.upstream;
    if (up === null || !up.connected || this.phase === "connecting") {
      // Not connected yet: keep a bounded amount, then stop reading the client.
      this.early.push(buf.slice(start, end));
      this.earlyBytes += end - start;
      if (this.earlyBytes > this.listener.config.perConnectionBufferLimitBytes) this.conn.setExchangePause(true);
      return;
    }
    if (!up.write(buf, start, end)) this.conn.setExchangePause(true);
  }

  // ---- upstream events ----------------------------------------------------------------------

  onUpstreamConnected(conn: UpstreamConnection): void {
    if (this.phase === "done") {
      this.cluster?.release(conn);
      return;
    }
    this.phase = "waiting";
    this.conn.ctx.dispatcher.tasks.setState(this.task, this.requestDone ? "waiting_response" : "reading_request");
    conn.requests++;
    this.sentUpstreamAt = this.conn.ctx.dispatcher.loop.now();
    const w = headWriter();
    this.writeUpstreamHead(w);
    let ok = conn.write(w.bytes, 0, w.length);
    for (const b of this.early) ok = conn.write(b);
    this.early = [];
    this.earlyBytes = 0;
    this.conn.setExchangePause(!ok);
  }

  onUpstreamConnectFailed(_conn: UpstreamConnection, reason: "connection failure" | "connection timeout"): void {
    this.upstream = null;
    this.host!.stats.rqError.inc();
    this.failBeforeHeaders(503, reason === "connection timeout" ? ENVOY_BODIES.connectTimeout : ENVOY_BODIES.connectFailure);
  }

  onUpstreamDrain(_conn: UpstreamConnection): void {
    if (this.upstreamEnd !== null) return this.upstreamEnd.drain();
    this.conn.setExchangePause(false);
  }

  onUpstreamData(conn: UpstreamConnection, bytes: Uint8Array): void {
    if (this.upstreamEnd !== null) return this.upstreamEnd.data(bytes);
    if (this.phase === "done") return;
    this.respBytes += bytes.byteLength;
    if (this.respHead === null) {
      // Parse straight from the socket's bytes; keep a copy only while the head is incomplete.
      const buf = this.respBuf === null ? bytes : concat(this.respBuf, bytes);
      this.respBuf = null;
      this.readResponseHead(conn, buf);
      return;
    }
    this.forwardResponse(bytes, 0, bytes.byteLength, false);
  }

  private readResponseHead(conn: UpstreamConnection, buf: Uint8Array): void {
    let at = 0;
    for (;;) {
      const view = at === 0 ? buf : buf.subarray(at);
      const r = parseResponseHead(view, this.head.method, RESPONSE_HEAD_LIMITS, RESPONSE_HEAD_OPTIONS);
      if (r.status === "incomplete") {
        this.respBuf = view.slice();
        return;
      }
      if (r.status === "error") {
        conn.destroy();
        this.upstream = null;
        this.failBeforeHeaders(502, ENVOY_BODIES.protocolError);
        return;
      }
      const head = r.head;
      at += head.headBytes;
      if (head.status === 101 && this.upgrading && this.requestDone) {
        this.respHead = head;
        this.startResponse(head, view);
        const w = headWriter();
        // Bytes after the 101 are the new protocol's: they follow the head.
        if (at < buf.byteLength) w.copy(buf, at, buf.byteLength);
        this.conn.send(w.bytes, 0, w.length);
        this.switchProtocols(conn);
        return;
      }
      if (head.status === 101) {
        // Switching protocols without an accepted upgrade: what follows is not HTTP, so the
        // connection can serve no other request.
        conn.destroy();
        this.upstream = null;
        this.failBeforeHeaders(502, ENVOY_BODIES.protocolError);
        return;
      }
      if (head.status >= 100 && head.status < 200) {
        // 100 Continue was answered by weft itself; other informational responses are dropped.
        if (at === buf.byteLength) return;
        continue;
      }
      this.respHead = head;
      this.startResponse(head, view);
      this.forwardResponse(buf, at, buf.byteLength, true);
      return;
    }
  }

  /**
   * Take the response head just parsed from `bytes`: stats, task state, framing; the head to send
   * downstream goes into this thread's head writer, its fields copied from `bytes` (names lower-cased,
   * hop-by-hop ones and those `Connection` nominates dropped) through `parsedFields`, which hold until
   * the next parse.
   */
  private startResponse(head: ResponseHead, bytes: Uint8Array): void {
    const elapsed = Math.round(this.conn.ctx.dispatcher.loop.now() - this.sentUpstreamAt);
    const switching = head.status === 101;
    // A refused upgrade closes the connection (Envoy's HTTP/1 codec): the client may already send the new protocol.
    const closeAfter = !switching && (this.conn.closeAfterResponse || this.conn.slot.removed || closeAfterThisResponse(this.conn.ctx) ||
      head.bodyKind === "close" || !this.requestDone || this.upgrading);
    if (closeAfter) this.conn.closeAfterResponse = true;
    const w = headWriter();
    w.reset();
    w.text("HTTP/1.1 ");
    w.decimal(head.status);
    w.text(" ");
    w.text(head.reason);
    w.crlf();
    const f = parsedFields;
    const nominated = head.connectionNominated;
    for (let i = 0, n = f.count; i < n; i++) {
      const known = f.knownName(i);
      if (known !== null && RESPONSE_NOT_FORWARDED.has(known)) continue;
      if (nominated !== null) {
        const name = f.name(i, bytes);
        // A 101's `Connection: upgrade` nominates the Upgrade field it must keep.
        if (nominated.includes(name) && !(switching && name === "upgrade")) continue;
      }
      w.fieldFrom(bytes, f.nameStart(i), f.nameEnd(i), f.nameHasUpperCase(i), f.valueStart(i), f.valueEnd(i));
    }
    w.text("x-envoy-upstream-service-time: ");
    w.decimal(elapsed);
    w.crlf();
    w.field("server", this.listener.config.http.serverName);
    if (closeAfter) w.field("connection", "close");
    if (switching) w.field("connection", "upgrade");
    w.crlf();
    this.phase = "streaming";
    this.conn.ctx.dispatcher.tasks.setState(this.task, "streaming");
    this.headersSent = true;
    this.respFramer = head.bodyKind === "none" ? null : new BodyFramer(head.bodyKind, head.contentLength);
  }

  /**
   * Forward response bytes `buf[start, end)` as far as the body goes, after the head in the head
   * writer when `withHead`: a head and the body bytes that came with it leave in one write.
   */
  private forwardResponse(buf: Uint8Array, start: number, end: number, withHead: boolean): void {
    const framer = this.respFramer;
    let used = 0;
    let done = true;
    if (framer !== null && end > start) {
      const r = framer.push(buf, start, end);
      if (r.status === "error") {
        this.upstream?.destroy();
        this.upstream = null;
        this.conn.reset();
        this.finish();
        return;
      }
      used = r.used;
      done = r.done;
    } else if (framer !== null) {
      done = framer.done;
    }
    let ok = true;
    if (withHead) {
      const w = headWriter();
      if (used > 0) w.copy(buf, start, start + used);
      ok = this.conn.send(w.bytes, 0, w.length);
    } else if (used > 0) {
      ok = this.conn.send(buf, start, start + used);
    }
    if (!ok) this.pauseUpstream();
    if (!done) return;
    if (start + used < end) {
      // Bytes after the end of the response: the connection cannot be trusted for reuse.
      this.upstream?.destroy();
      this.upstream = null;
    }
    this.finish();
  }

  /**
   * The 101 was sent: relay bytes both ways (the shared relay, with its back-pressure) until both
   * sides closed. The route timeout no longer applies (Envoy's covers the response headers);
   * `stream_idle_timeout` does. The upstream connection is never pooled again.
   */
  private switchProtocols(up: UpstreamConnection): void {
    const ctx = this.conn.ctx;
    ctx.deadlines.disarm(this);
    this.phase = "switched";
    ctx.dispatcher.tasks.setState(this.task, "tunnel_streaming");
    if (this.pausedUpstream) {
      this.pausedUpstream = false;
      up.socket.resume();
    }
    const upstreamEnd = new SwitchedEnd(ctx.runtime.lendsReadBuffers, {
      write: (bytes) => up.write(bytes),
      end: () => up.socket.end(),
      closeAfterWrites: () => up.socket.closeAfterWrites(),
      destroy: () => up.destroy(),
      pause: () => up.socket.pause(),
      resume: () => up.socket.resume(),
    });
    this.upstreamEnd = upstreamEnd;
    const kind = this.protocolSwitch?.kind === "upgrade" ? this.protocolSwitch.type.trim().toLowerCase() : "upgrade";
    const downstream = this.conn.switchProtocols(kind);
    this.downstreamEnd = downstream.end;
    void relay(downstream.end, upstreamEnd, {}, downstream.early).then(() => {
      // Both sockets are closed: nothing to release.
      this.upstream = null;
      this.finish();
    });
  }

  private pauseUpstream(): void {
    if (this.upstream !== null && !this.pausedUpstream) {
      this.pausedUpstream = true;
      this.upstream.socket.pause();
    }
  }

  onDownstreamDrain(): void {
    if (this.pausedUpstream && this.upstream !== null) {
      this.pausedUpstream = false;
      this.upstream.socket.resume();
    }
  }

  onUpstreamEnd(_conn: UpstreamConnection): boolean {
    if (this.upstreamEnd === null) return false;
    this.upstreamEnd.peerEnded();
    return true;
  }

  onUpstreamClose(_conn: UpstreamConnection, error?: Error): void {
    if (this.upstreamEnd !== null) return this.upstreamEnd.closed(false, error);
    this.upstream = null;
    if (this.phase === "done") return;
    if (this.respHead !== null) {
      if (this.respHead.bodyKind === "close") {
        this.finish();
        return;
      }
      // Truncated response: the client must see a broken connection, not a short body.
      this.conn.reset();
      this.finish();
      return;
    }
    if (this.reused && this.respBytes === 0 && !this.retried && this.head.bodyKind === "none") {
      // The pooled connection was closed by the upstream as we reused it: try once on a new one.
      this.retried = true;
      this.releaseHost();
      this.connectUpstream(true);
      return;
    }
    this.host?.stats.rqError.inc();
    this.failBeforeHeaders(503, ENVOY_BODIES.connectionTermination);
  }

  // ---- endings ------------------------------------------------------------------------------

  private armTimeout(): void {
    if (this.timeoutMs <= 0 || this.deadline !== 0 || this.cluster === null) return;
    this.conn.ctx.deadlines.arm(this, this.conn.ctx.dispatcher.loop.now() + this.timeoutMs);
  }

  /** The route timeout passed (called by the worker's deadline tick). */
  expire(): void {
    if (this.phase === "done") return;
    const loop = this.conn.ctx.dispatcher.loop;
    loop.enter();
    this.cluster?.stats.rqTimeout.inc();
    this.host?.stats.rqTimeout.inc();
    this.upstream?.destroy();
    this.upstream = null;
    if (this.headersSent) {
      this.conn.reset();
      this.finish();
    } else {
      this.failBeforeHeaders(504, ENVOY_BODIES.upstreamTimeout);
    }
    loop.leave();
  }

  /**
   * `request_timeout` (until the request is whole or the response starts) and `stream_idle_timeout`
   * (no byte to or from the client), as Envoy's `ActiveStream::onRequestTimeout` / `onIdleTimeout`.
   * Called by the worker's connection sweep.
   */
  checkStreamTimeouts(now: number, lastActivityAt: number): void {
    if (this.phase === "done") return;
    const hcm = this.listener.config.http;
    const http = this.listener.http;
    if (this.phase === "switched") {
      if (hcm.streamIdleTimeoutMs > 0 && now - lastActivityAt > hcm.streamIdleTimeoutMs) {
        http.rqIdleTimeout.inc();
        // Both ends reset; the relay then finishes the stream.
        this.upstreamEnd!.destroy();
        this.downstreamEnd!.destroy();
      }
      return;
    }
    if (hcm.requestTimeoutMs > 0 && !this.requestDone && !this.headersSent && now - this.streamStartedAt > hcm.requestTimeoutMs) {
      http.rqTimeout.inc();
      this.streamTimeout("request timeout");
    } else if (hcm.streamIdleTimeoutMs > 0 && now - Math.max(lastActivityAt, this.streamStartedAt) > hcm.streamIdleTimeoutMs) {
      http.rqIdleTimeout.inc();
      this.streamTimeout("stream timeout");
    }
  }

  /**
   * A stream timeout fired: 408 while the request is still arriving, 504 once it is whole (Envoy's
   * `maybeRequestTimeoutCode`), or a reset once the response has started. The upstream is released.
   */
  private streamTimeout(body: string): void {
    this.upstream?.destroy();
    this.upstream = null;
    if (this.headersSent) {
      this.conn.reset();
      this.finish();
      return;
    }
    this.localResponse(this.requestDone ? 504 : 408, body);
  }

  /** Answer with an error before any response byte was sent; the upstream, if any, is dropped. */
  private failBeforeHeaders(status: number, body: string): void {
    this.upstream?.destroy();
    this.upstream = null;
    if (this.cluster !== null) this.cluster.stats.countResponse(status);
    this.localResponse(status, body);
  }

  private abortRequest(status: number, body: string): void {
    this.conn.closeAfterResponse = true;
    this.upstream?.destroy();
    this.upstream = null;
    if (this.headersSent) {
      this.conn.reset();
      this.finish();
    } else this.localResponse(status, body);
  }

  private localResponse(status: number, body: string | null, headers?: string[]): void {
    // Unread request body bytes would be parsed as the next request: close after answering.
    if (!this.requestDone || this.conn.slot.removed || closeAfterThisResponse(this.conn.ctx)) this.conn.closeAfterResponse = true;
    const bytes = localReply(status, body, {
      close: this.conn.closeAfterResponse,
      server: this.listener.config.http.serverName,
      headOnly: this.head.method === "HEAD",
      ...(headers ? { headers } : {}),
    });
    this.headersSent = true;
    this.respHead = { minor: 1, status, reason: "", headers: [], bodyKind: "none", contentLength: 0, keepAlive: true, connectionNominated: null, headBytes: 0 };
    this.conn.send(bytes);
    this.finish();
  }

  private releaseHost(): void {
    const host = this.host;
    if (host === null) return;
    host.activeRequests--;
    host.stats.rqActive.dec();
    this.host = null;
  }

  private finish(): void {
    if (this.phase === "done") return;
    this.phase = "done";
    this.conn.ctx.deadlines.disarm(this);
    const ctx = this.conn.ctx;
    ctx.dispatcher.tasks.finish(this.task);
    const http = this.listener.http;
    http.rqActive.dec();
    if (this.upgrading) http.cxUpgradesActive.dec();
    const status = this.respHead?.status ?? 0;
    http.rqByClass[Math.floor(status / 100) - 1]?.inc();
    const now = ctx.dispatcher.loop.now();
    http.rqTime.record(now - this.startedAt);
    const cluster = this.cluster;
    const host = this.host;
    if (cluster !== null) cluster.stats.rqActive.dec();
    // Local failures were counted by failBeforeHeaders; here only responses from the upstream.
    if (cluster !== null && host !== null && this.respHead !== null && this.respHead.headBytes > 0) {
      cluster.stats.countResponse(status);
      cluster.stats.rqTime.record(now - this.sentUpstreamAt);
      if (status >= 500) host.stats.rqError.inc();
      else host.stats.rqSuccess.inc();
    }
    this.releaseHost();
    const up = this.upstream;
    this.upstream = null;
    let keepOpen = true;
    if (up !== null) {
      if (this.pausedUpstream) up.socket.resume();
      // An HTTP/1.0 client's request went up with `connection: close` (writeUpstreamHead), after
      // which no request may follow on that connection (RFC 9112 §9.6), whatever the upstream answers.
      const reusable = this.requestDone && this.respHead !== null && this.respHead.keepAlive && this.head.minor === 1 &&
        this.respHead.bodyKind !== "close" && this.respHead.status !== 101 && this.protocolSwitch === null && up.connected;
      if (reusable) cluster!.release(up);
      else up.destroy();
    }
    if (!this.requestDone) keepOpen = false;
    this.conn.exchangeDone(this, keepOpen);
  }

  /** The client went away mid-exchange: release the upstream side. */
  downstreamClosed(): void {
    // A switched stream ends when its relay does (the client's close already reached it).
    if (this.phase === "done" || this.phase === "switched") return;
    this.upstream?.destroy();
    this.upstream = null;
    this.phase = "done";
    this.conn.ctx.deadlines.disarm(this);
    this.conn.ctx.dispatcher.tasks.finish(this.task);
    this.listener.http.rqActive.dec();
    if (this.upgrading) this.listener.http.cxUpgradesActive.dec();
    this.cluster?.stats.rqActive.dec();
    this.releaseHost();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
