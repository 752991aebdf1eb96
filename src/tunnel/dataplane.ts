/**
 * The tunnel's data plane as it runs in one worker: the outbound listeners (HTTP CONNECT and SOCKS5
 * on the node's bind address), and per hosted HBONE workload IP the inbound HBONE and plaintext
 * listeners; source identification, destination resolution, HBONE pooling, destination-side
 * authorization, byte-counting relays, metrics, access logs and drain.
 *
 * Every listener binds with `reusePort`, so all workers of a node share the same addresses.
 *
 * @example
 * ```ts
 * const dp = new DataPlane(init, console.log, await currentRuntime());
 * const addresses = await dp.bind();
 * ...
 * await dp.drain(5000);
 * ```
 *
 * @module
 */

import net from "node:net";
import type tls from "node:tls";
import type { Duplex } from "node:stream";
import { formatHostPort } from "../config/address.ts";
import type { Runtime, TcpListener, TcpSocket } from "../runtime/types.ts";
import { type AccessLogEntry, formatAccessLog } from "./access_log.ts";
import { authorize, type RbacConnection } from "./authz.ts";
import { relay, type RelayEnd, SocketEnd } from "../net/relay.ts";
import { PeerOpenError, PeerStreams } from "./peer_streams.ts";
import { PoolOwners } from "./pool_owners.ts";
import type { LocalConfig, Service, Workload } from "./config.ts";
import { Drain, type DrainResult } from "./drain.ts";
import {
  createHboneServer,
  type H2Stream,
  type HbonePeer,
  HbonePool,
  HboneStatusError,
  type IncomingHeaders,
  type OutgoingHeaders,
  type PoolKey,
  poolKeyString,
} from "./hbone.ts";
import type { TlsMaterial } from "../tls/context.ts";
import {
  CONNECT_OK,
  ConnectError,
  errorResponse,
  parseConnectHead,
} from "./http_connect.ts";
import {
  Instrumentation,
  type LiveConnection,
  type LiveTask,
} from "./instrument.ts";
import {
  CLOSED,
  type Labels,
  OPENED,
  RECEIVED,
  REFUSED,
  SENT,
  trafficLabels,
  trafficStatName,
  type UpstreamAttempt,
  UpstreamStats,
} from "./metrics.ts";
import type { CertMap, DataPlaneAddresses, DataPlaneInit } from "./protocol.ts";
import { type ListenerAddress, parseListenerAddress, reachesOwnListener, sameIpAddress } from "./own_listeners.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { BoundListener } from "../worker/messages.ts";
import type { Counter, StatsScope } from "../stats/scope.ts";
import * as socks from "./socks5.ts";
import { acceptedIdentities, normalizeIp, TunnelState, workloadIdentity } from "./state.ts";

const HANDSHAKE_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();
const CONNECT_OK_BYTES = encoder.encode(CONNECT_OK);

/** The HTTP status a CONNECT client is answered with for each refusal. */
const REFUSAL_STATUS: Record<Refusal, number> = {
  unknown_source: 403,
  source_not_local: 403,
  policy_denied: 403,
  no_route: 502,
  connect_failed: 503,
  bad_request: 400,
  self_call: 403,
};

type Refusal =
  | "unknown_source"
  | "source_not_local"
  | "policy_denied"
  | "no_route"
  | "connect_failed"
  | "bad_request"
  /** The destination is one of this tunnel's own listeners. */
  | "self_call";

/** An inbound connection the policies allowed, kept so that a config update can check it again. */
interface AuthorizedConnection {
  destination: Workload;
  rbac: RbacConnection;
  logFields: Omit<AccessLogEntry, "time" | "level" | "message">;
  close(): void;
}

/** Envoy's tcp_proxy stats of one listener. */
interface TcpProxyStats {
  cxTotal: Counter;
  noRoute: Counter;
  rxBytes: Counter;
  txBytes: Counter;
}

/** The tcp_proxy `stat_prefix` of each connection-table listener name. */
const TCP_STAT_PREFIX: Record<string, string> = {
  outbound: "outbound",
  socks5: "socks5",
  inbound_plaintext: "inbound_plaintext",
  hbone_stream: "inbound_hbone",
};

/** The connection a forwarded stream belongs to, on the worker that accepted it. */
interface ForwardedFor {
  connectionId: string;
  route: string;
  cluster: string;
}

/** What a worker asks a pool key's owner worker for (see `#hboneConnect`). */
interface PeerOpenRequest {
  key: PoolKey;
  headers: OutgoingHeaders;
  forwardedFor: ForwardedFor;
}

/** A client connection on a relay listener while it sends its handshake (SOCKS5 or CONNECT). */
interface Handshake {
  end: SocketEnd;
  conn: LiveConnection;
  /** The head is parsed: stop the handshake timeout; `end` keeps further bytes and stops reading until the relay attaches. */
  done(): void;
  /** Answers and closes once the client has read the answer and ended, or after the handshake timeout. */
  refuse(reply: Uint8Array | string): void;
}

/** How an outbound handshake answers its client. */
interface Responder {
  ok(): void;
  fail(reason: Refusal): void;
}

interface InboundListeners {
  hbone: tls.Server;
  plain: TcpListener;
  identity: string;
  serial: string;
}

function listenerAddr(l: TcpListener | undefined): string {
  return l ? formatHostPort(l.hostname, l.port) : "undefined";
}

function addr(a: net.AddressInfo | string | null): string {
  if (!a || typeof a === "string") return String(a);
  return formatHostPort(a.address, a.port);
}

/** Binds a runtime listener for relayed connections (half-open, shared by the workers). */
async function listenRelay(
  runtime: Runtime,
  host: string,
  port: number,
  onOpen: (socket: TcpSocket) => SocketEnd,
): Promise<TcpListener> {
  try {
    return await runtime.listenTcp({ hostname: host, port, reusePort: true, halfOpen: true }, (s) => onOpen(s).handlers);
  } catch (e) {
    throw new Error(`Cannot bind ${host}:${port}: ${(e as Error).message}`);
  }
}

function listen(
  server: net.Server,
  host: string,
  port: number,
): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) =>
      reject(new Error(`Cannot bind ${host}:${port}: ${e.message}`));
    server.once("error", onError);
    server.listen({ host, port, reusePort: true, exclusive: false }, () => {
      server.off("error", onError);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/** `a` then `b`, always in a new array (`b` may be in a runtime socket's reused read buffer). */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export class DataPlane {
  readonly init: DataPlaneInit;
  readonly ins: Instrumentation;
  readonly drainer = new Drain();
  /** This worker's stats, flushed to main as deltas with the dispatcher's report. */
  readonly #stats: StatsScope;
  readonly #tcp = new Map<string, TcpProxyStats>();
  /** Connection-table rows mirroring the HBONE pool's sessions, by session id. */
  readonly #poolRows = new Map<number, LiveConnection>();
  readonly #upstream: UpstreamStats;
  /** HBONE destinations whose session gauge this worker has set. */
  readonly #sessionHosts = new Set<string>();
  #state: TunnelState;
  #certs: CertMap;
  #pool: HbonePool;
  /** Streams to and from the other workers (to the worker that carries a pool key's streams). */
  readonly #peers: PeerStreams;
  readonly #owners: PoolOwners;
  readonly #runtime: Runtime;
  #outbound?: TcpListener;
  #socks?: TcpListener;
  readonly #inbound = new Map<string, InboundListeners>();
  /** Inbound connections allowed by the policies, from the decision until they close. */
  readonly #authorized = new Set<AuthorizedConnection>();
  readonly #log: (line: string) => void;
  #ports: DataPlaneInit["ports"];

  constructor(init: DataPlaneInit, dispatcher: Dispatcher, log: (line: string) => void, runtime: Runtime) {
    this.init = init;
    this.#runtime = runtime;
    this.#log = log;
    this.#ports = { ...init.ports };
    this.ins = new Instrumentation(dispatcher);
    this.#stats = dispatcher.stats;
    this.#upstream = new UpstreamStats(dispatcher.stats, dispatcher.queues);
    this.#state = new TunnelState(init.config);
    this.#certs = init.certs;
    this.#pool = new HbonePool({
      tls: (id) => this.#material(id),
      maxStreams: init.maxStreamsPerConnection,
    });
    this.#peers = new PeerStreams(init.workerId);
    this.#owners = new PoolOwners(init.poolOwners, init.workerId);
    this.#peers.onOpen = (req, accept, reject) => this.#servePeerOpen(req, accept, reject);
  }

  get state(): TunnelState {
    return this.#state;
  }

  #material(identity: string): TlsMaterial | undefined {
    const c = this.#certs[identity];
    return c
      ? { key: c.keyPem, cert: c.certPem, ca: this.init.caPem }
      : undefined;
  }

  /** Binds every listener; resolves with the bound addresses (ports of 0 resolved). */
  async bind(): Promise<DataPlaneAddresses> {
    const rt = this.#runtime;
    this.#outbound = await listenRelay(rt, this.init.bindIp, this.#ports.outbound, (s) => this.#onOutbound(s, "outbound"));
    this.#ports.outbound = this.#outbound.port;
    this.#socks = await listenRelay(rt, this.init.bindIp, this.#ports.socks5, (s) => this.#onOutbound(s, "socks5"));
    this.#ports.socks5 = this.#socks.port;
    this.drainer.onStart(() => {
      this.#outbound?.close();
      this.#socks?.close();
    });
    await this.#syncInbound();
    return this.addresses();
  }

  addresses(): DataPlaneAddresses {
    const hbone: Record<string, string> = {};
    const plain: Record<string, string> = {};
    for (const [ip, l] of this.#inbound) {
      hbone[ip] = addr(l.hbone.address() as net.AddressInfo);
      plain[ip] = listenerAddr(l.plain);
    }
    return {
      outbound: listenerAddr(this.#outbound),
      socks5: listenerAddr(this.#socks),
      hbone,
      inboundPlaintext: plain,
    };
  }

  /**
   * The listeners as bound, in the shared protocol's shape: `outbound`, `socks5`, and per hosted
   * workload IP `hbone` and `inbound_plaintext` (one port per node, so the name is the port's key).
   */
  boundListeners(): BoundListener[] {
    const out: BoundListener[] = [];
    for (const [name, l] of [["outbound", this.#outbound], ["socks5", this.#socks]] as const) {
      if (l) out.push({ name, hostname: l.hostname, port: l.port });
    }
    for (const [ip, l] of this.#inbound) {
      const hbone = l.hbone.address() as net.AddressInfo;
      out.push({ name: "hbone", hostname: ip, port: hbone.port });
      out.push({ name: "inbound_plaintext", hostname: ip, port: l.plain.port });
    }
    return out;
  }

  /** Local workloads that get inbound listeners: HBONE ones hosted on this node. */
  #hostedIps(): Map<string, Workload> {
    const out = new Map<string, Workload>();
    for (const w of this.#state.workloadsOnNode(this.init.node)) {
      if (w.protocol !== "HBONE") continue;
      for (const ip of w.workloadIps) out.set(ip, w);
    }
    return out;
  }

  /**
   * Binds inbound listeners for hosted workload IPs that lack them (or whose certificate changed) and
   * closes those of workloads no longer hosted. Closing stops accepting; established connections stay.
   */
  async #syncInbound(): Promise<void> {
    if (this.drainer.draining) return;
    const want = this.#hostedIps();
    for (const [ip, l] of [...this.#inbound]) {
      const w = want.get(ip);
      const cert = w ? this.#certs[workloadIdentity(w)] : undefined;
      if (
        !w || !cert || workloadIdentity(w) !== l.identity ||
        cert.serial !== l.serial
      ) {
        if (w && cert) {
          // Replace: bind the new listeners first (reusePort), then stop the old ones accepting.
          await this.#bindInbound(ip, w, true);
        } else {
          this.#inbound.delete(ip);
        }
        l.hbone.close();
        l.plain.close();
      }
    }
    for (const [ip, w] of want) {
      if (!this.#inbound.has(ip)) await this.#bindInbound(ip, w, false);
    }
  }

  async #bindInbound(
    ip: string,
    w: Workload,
    replacing: boolean,
  ): Promise<void> {
    const identity = workloadIdentity(w);
    const cert = this.#certs[identity];
    if (!cert) {
      throw new Error(
        `Cannot bind inbound listeners for ${ip}: no certificate for ${identity}`,
      );
    }
    const hbone = createHboneServer(
      { key: cert.keyPem, cert: cert.certPem, ca: this.init.caPem },
      (stream, headers, peer) => this.#onHboneStream(stream, headers, peer, ip),
      {
        onHandshakeError: (err, remote) => {
          this.#refused("tls_handshake", "destination");
          this.#log(formatAccessLog({
            time: Date.now(),
            level: "warn",
            message: "connection failed",
            "src.addr": remote ?? "unknown",
            "dst.addr": `${ip}:${this.#ports.hbone}`,
            direction: "inbound",
            error: `TLS handshake failed: ${err.message}`,
          }, this.init.logFormat));
        },
        onSession: (session, id) => {
          const sock = session.socket;
          const conn = this.ins.openConnection({
            remoteAddress: normalizeIp(sock.remoteAddress ?? ""),
            remotePort: sock.remotePort ?? 0,
            listener: "hbone",
            kind: "hbone",
            peer: `session ${id}`,
          });
          const release = this.drainer.track(() => session.destroy());
          session.on("close", () => {
            this.ins.closeConnection(conn.id);
            release();
          });
        },
      },
    );
    const h = await listen(
      hbone as unknown as net.Server,
      ip,
      this.#ports.hbone,
    );
    const plain = await listenRelay(this.#runtime, ip, this.#ports.inboundPlaintext, (s) => this.#onInboundPlain(s, ip));
    // A port of 0 is resolved once per node, so every workload IP shares it.
    if (this.#ports.hbone === 0) this.#ports.hbone = h.port;
    if (this.#ports.inboundPlaintext === 0) {
      this.#ports.inboundPlaintext = plain.port;
    }
    void replacing;
    this.#inbound.set(ip, { hbone, plain, identity, serial: cert.serial });
  }

  /** Applies a new config: state for new connections, inbound listeners rebound. */
  async updateConfig(config: LocalConfig): Promise<DataPlaneAddresses> {
    this.#state = new TunnelState(config);
    this.#closeNoLongerAllowed();
    await this.#syncInbound();
    return this.addresses();
  }

  /**
   * Closes the inbound connections the current policies no longer allow, as ztunnel's policy
   * watcher does after a policy update: a DENY that a reload adds must not wait for the
   * connections it denies to end by themselves.
   */
  #closeNoLongerAllowed(): void {
    for (const c of this.#authorized) {
      const destination = this.#state.workloadByIp(c.rbac.dstIp) ?? c.destination;
      const verdict = authorize(this.#state.policiesFor(destination), c.rbac);
      if (verdict.allowed) continue;
      this.#authorized.delete(c);
      this.#logConn({
        ...c.logFields,
        level: "info",
        message: "connection closed",
        policy: verdict.policy,
        error: `no longer allowed after a policy update (${verdict.policy ?? "no ALLOW policy matches"})`,
      });
      c.close();
    }
  }

  /** New certificates: used by new pooled sessions and new inbound listeners. */
  async updateCerts(certs: CertMap): Promise<void> {
    this.#certs = certs;
    await this.#syncInbound();
  }

  /**
   * Mirror the HBONE pool's sessions into the connection table (listener `hbone_pool`, peer
   * `src -> dst (N streams)`), so they travel to main with the other rows. Called before each flush.
   */
  syncPoolRows(): void {
    const seen = new Set<number>();
    const byHost = new Map<string, number>();
    const opened: string[] = [];
    for (const s of this.#pool.sessions()) {
      seen.add(s.id);
      byHost.set(s.key.dstAddr, (byHost.get(s.key.dstAddr) ?? 0) + 1);
      let row = this.#poolRows.get(s.id);
      if (row === undefined) {
        opened.push(s.key.dstAddr);
        row = this.ins.openConnection({ remoteAddress: s.remoteAddress, remotePort: s.remotePort, listener: "hbone_pool", kind: "hbone" });
        row.openedAt = s.openedAt;
        this.#poolRows.set(s.id, row);
      }
      const peer = `${s.key.srcIdentity} -> ${s.key.dstIdentities.join(" | ")} (${s.streams} streams)`;
      if (row.peer !== peer || row.requests !== s.totalStreams || row.remotePort !== s.remotePort) {
        row.peer = peer;
        row.requests = s.totalStreams;
        row.remoteAddress = s.remoteAddress;
        row.remotePort = s.remotePort;
        row.lastActivityAt = s.lastActivityAt;
        this.ins.touch(row);
      }
    }
    for (const [id, row] of this.#poolRows) {
      if (seen.has(id)) continue;
      this.#poolRows.delete(id);
      this.ins.closeConnection(row.id);
    }
    this.#upstream.setSessions(byHost, opened, this.#sessionHosts);
  }

  /** Envoy's tcp_proxy stats for one listener (`tcp.<stat_prefix>.*`). */
  #tcpStats(listener: string): TcpProxyStats {
    let t = this.#tcp.get(listener);
    if (t === undefined) {
      const prefix = `tcp.${TCP_STAT_PREFIX[listener] ?? listener}.`;
      t = {
        cxTotal: this.#stats.counter(prefix + "downstream_cx_total"),
        noRoute: this.#stats.counter(prefix + "downstream_cx_no_route"),
        rxBytes: this.#stats.counter(prefix + "downstream_cx_rx_bytes_total"),
        txBytes: this.#stats.counter(prefix + "downstream_cx_tx_bytes_total"),
      };
      this.#tcp.set(listener, t);
    }
    return t;
  }

  /** One of ztunnel's labelled counters. */
  #traffic(metric: string, labels: Labels): void {
    this.#stats.counter(trafficStatName(metric, labels)).inc();
  }

  /** A connection refused before any traffic, by reason (`weft_tunnel_connections_refused_total`). */
  #refused(reason: string, reporter: "source" | "destination"): void {
    this.#stats.counter(trafficStatName(REFUSED, { reason, reporter })).inc();
  }

  /** Stops accepting, lets connections finish, force-closes the rest at the deadline. */
  async drain(deadlineMs: number): Promise<DrainResult> {
    this.drainer.onStart(() => {
      for (const l of this.#inbound.values()) {
        l.hbone.close();
        l.plain.close();
      }
    });
    const result = await this.drainer.start(deadlineMs);
    this.#stats.counter("tunnel.drain_forced_close").inc(result.forced);
    this.#pool.destroy();
    this.#peers.close();
    this.syncPoolRows();
    return result;
  }

  /** Every listener of this tunnel: the main thread's, this worker's (the others bind the same). */
  #ownListeners(): ListenerAddress[] {
    const own = [...this.init.mainListeners, listenerAddr(this.#outbound), listenerAddr(this.#socks)].map(parseListenerAddress);
    for (const [ip, l] of this.#inbound) {
      own.push({ host: ip, port: (l.hbone.address() as net.AddressInfo | null)?.port ?? this.#ports.hbone }, { host: ip, port: l.plain.port });
    }
    return own;
  }

  /**
   * Refuses (counts and logs) a connection to one of this tunnel's own listeners: through
   * passthrough a workload reached admin and drained the node (issue 17). ztunnel refuses a call
   * to itself too (`SelfCall`).
   */
  #refuseSelfCall(ip: string, port: number, srcAddr: string, direction: "inbound" | "outbound", src?: Workload): boolean {
    if (!reachesOwnListener(ip, port, this.#ownListeners())) return false;
    const reporter = direction === "outbound" ? "source" : "destination";
    this.#refused("self_call", reporter);
    const target = formatHostPort(ip, port);
    this.#logConn({
      level: "warn",
      message: "connection failed",
      "src.addr": srcAddr,
      "src.workload": src?.name,
      "src.namespace": src?.namespace,
      "dst.addr": target,
      direction,
      error: `${target} is one of this tunnel's own listeners`,
    });
    return true;
  }

  #logConn(e: Omit<AccessLogEntry, "time">): void {
    this.#log(
      formatAccessLog(
        { time: Date.now(), ...e } as AccessLogEntry,
        this.init.logFormat,
      ),
    );
  }

  /** Connects a port to another worker of this node. */
  addPeer(worker: number, port: MessagePort): void {
    this.#peers.addPeer(worker, port);
  }

  /** Another worker of this node died: streams it would carry are opened here instead. */
  removePeer(worker: number): void {
    this.#peers.removePeer(worker);
  }

  /**
   * An HBONE stream for `key`, on the worker that carries the key's streams (`pool_owners.ts`): from
   * the local pool when that is this worker (always, when the key has no streams in flight),
   * otherwise forwarded to it, so concurrent streams for one key share its sessions. The owner
   * shows a forwarded stream as a task of `task`'s connection.
   */
  async #hboneConnect(key: PoolKey, headers: OutgoingHeaders, task: LiveTask): Promise<Duplex> {
    const claim = this.#owners.acquire(poolKeyString(key));
    // Released exactly once: when the stream closes, or here if there is none.
    const release = () => this.#owners.release(claim);
    try {
      let stream: Duplex;
      if (claim.owner === this.init.workerId || !this.#peers.peers.includes(claim.owner)) {
        stream = await this.#pool.connect(key, headers);
      } else {
        const forwardedFor: ForwardedFor = { connectionId: task.connectionId, route: task.route, cluster: task.cluster };
        const peer = await this.#peers.open(claim.owner, { key, headers, forwardedFor } satisfies PeerOpenRequest);
        // Only the relay from the client's socket writes into it, so socket reads can move unchanged.
        peer.moveWholeChunks = true;
        stream = peer;
      }
      if (stream.destroyed) release();
      else stream.once("close", release);
      return stream;
    } catch (e) {
      release();
      if (e instanceof PeerOpenError && e.status !== undefined) throw new HboneStatusError(e.status);
      throw e;
    }
  }

  /**
   * The owner side of a forwarded stream: open it on the local pool and relay, as a task of the
   * forwarding worker's connection (so `/tasks` shows where the stream's HTTP/2 and TLS work runs).
   */
  #servePeerOpen(
    req: unknown,
    accept: () => Duplex,
    reject: (message: string, status?: number) => void,
  ): void {
    const { key, headers, forwardedFor } = req as PeerOpenRequest;
    const task = this.ins.openTask({ ...forwardedFor, state: "tunnel_connecting", listener: "peer", forwarded: true });
    this.#pool.connect(key, headers).then((stream) => {
      const peer = accept();
      this.ins.setTaskState(task, "tunnel_streaming");
      const release = this.drainer.track(() => {
        peer.destroy();
        stream.destroy();
      });
      void relay(peer, stream, { busy: this.ins }).then(() => {
        this.ins.closeTask(task.id);
        release();
      });
    }, (e: Error) => {
      this.ins.closeTask(task.id);
      if (e instanceof HboneStatusError) reject(e.message, e.status);
      else reject(e.message);
    });
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * A client socket on a relay listener: its connection-table row (closed with the socket), drain
   * tracking, and a timeout for the handshake that `early` parses.
   */
  #acceptHandshake(socket: TcpSocket, listener: string, kind: string): Handshake {
    const end = new SocketEnd(socket, this.#runtime.lendsReadBuffers);
    const conn = this.ins.openConnection({
      remoteAddress: normalizeIp(socket.remoteAddress),
      remotePort: socket.remotePort,
      listener,
      kind,
    });
    this.#tcpStats(listener).cxTotal.inc();
    const release = this.drainer.track(() => socket.destroy());
    let timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    end.onClose = () => {
      clearTimeout(timer);
      this.ins.closeConnection(conn.id);
      release();
    };
    return {
      end,
      conn,
      done() {
        end.early = null;
        clearTimeout(timer);
      },
      refuse(reply) {
        end.early = null;
        socket.write(typeof reply === "string" ? encoder.encode(reply) : reply);
        socket.end();
        clearTimeout(timer);
        timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
      },
    };
  }

  /** A client connection on an outbound listener: its SOCKS5 or CONNECT handshake, then the relay. */
  #onOutbound(socket: TcpSocket, listener: "outbound" | "socks5"): SocketEnd {
    const { end, conn, done, refuse } = this.#acceptHandshake(socket, listener, listener === "socks5" ? "socks5" : "connect");
    let buf: Uint8Array = new Uint8Array(0);
    let stage: "greeting" | "request" | "connect" = listener === "socks5"
      ? "greeting"
      : "connect";
    end.early = (chunk: Uint8Array) => {
      buf = concat(buf, chunk);
      try {
        if (stage === "greeting") {
          const g = socks.parseGreeting(buf);
          if (!g) return;
          buf = buf.subarray(g.consumed);
          const ok = g.methods.includes(socks.NO_AUTH);
          if (!ok) return refuse(socks.greetingReply(false));
          socket.write(socks.greetingReply(true));
          stage = "request";
        }
        if (stage === "request") {
          const r = socks.parseRequest(buf);
          if (!r) return;
          buf = buf.subarray(r.consumed);
          done();
          if (r.command !== socks.CMD_CONNECT) {
            return refuse(socks.reply(socks.REP.COMMAND_NOT_SUPPORTED));
          }
          const rep: Record<Refusal, number> = {
            unknown_source: socks.REP.NOT_ALLOWED,
            source_not_local: socks.REP.NOT_ALLOWED,
            policy_denied: socks.REP.NOT_ALLOWED,
            no_route: socks.REP.HOST_UNREACHABLE,
            connect_failed: socks.REP.CONNECTION_REFUSED,
            bad_request: socks.REP.GENERAL_FAILURE,
            self_call: socks.REP.NOT_ALLOWED,
          };
          void this.#outbound2(end, conn, listener, r.host, r.port, buf, {
            ok: () => socket.write(socks.reply(socks.REP.SUCCEEDED)),
            fail: (reason) => refuse(socks.reply(rep[reason])),
          });
          return;
        }
        const req = parseConnectHead(buf);
        if (!req) return;
        buf = buf.subarray(req.consumed);
        done();
        void this.#outbound2(end, conn, listener, req.host, req.port, buf, {
          ok: () => socket.write(CONNECT_OK_BYTES),
          fail: (reason) => refuse(errorResponse(REFUSAL_STATUS[reason])),
        });
      } catch (e) {
        if (e instanceof socks.Socks5Error) refuse(socks.reply(e.rep));
        else if (e instanceof ConnectError) {
          refuse(errorResponse(e.status));
        } else socket.destroy();
        this.#refused("bad_request", "source");
      }
    };
    return end;
  }

  async #outbound2(
    down: SocketEnd,
    conn: LiveConnection,
    listener: string,
    host: string,
    port: number,
    leftover: Uint8Array,
    respond: Responder,
  ): Promise<void> {
    const start = Date.now();
    const socket = down.socket!;
    const srcIp = normalizeIp(socket.remoteAddress);
    const srcAddr = `${srcIp}:${socket.remotePort}`;
    const src = this.#state.workloadByIp(srcIp);
    const dstAddr = `${host}:${port}`;
    if (!src || src.node !== this.init.node) {
      const reason: Refusal = src ? "source_not_local" : "unknown_source";
      this.#refused(reason, "source");
      this.#logConn({
        level: "warn",
        message: "connection failed",
        "src.addr": srcAddr,
        "dst.addr": dstAddr,
        direction: "outbound",
        error: src
          ? `source workload ${src.name} is not on node ${this.init.node}`
          : `unknown source ${srcIp}`,
      });
      return respond.fail(reason);
    }
    const dest = this.#state.resolve(host, port, src.namespace);
    if ("error" in dest) {
      this.#refused("no_route", "source");
      this.#tcpStats(listener).noRoute.inc();
      this.#logConn({
        level: "warn",
        message: "connection failed",
        "src.addr": srcAddr,
        "src.workload": src.name,
        "src.namespace": src.namespace,
        "dst.addr": dstAddr,
        direction: "outbound",
        error: dest.error,
      });
      return respond.fail("no_route");
    }
    if (this.#refuseSelfCall(dest.ip, dest.port, srcAddr, "outbound", src)) return respond.fail("self_call");
    const hbone = dest.workload?.protocol === "HBONE";
    const srcId = workloadIdentity(src);
    const dstId = dest.workload ? workloadIdentity(dest.workload) : undefined;
    const labelInput = {
      reporter: "source" as const,
      source: src,
      sourcePrincipal: hbone ? srcId : undefined,
      destination: dest.workload,
      service: dest.service,
      mtls: hbone,
    };
    const labels = trafficLabels(labelInput);
    this.#traffic(OPENED, labels);
    const target = `${dest.ip}:${dest.port}`;
    const hboneAddr = hbone ? `${dest.ip}:${this.#ports.hbone}` : undefined;
    conn.peer = `${dest.workload?.name ?? "passthrough"} ${target}`;
    this.ins.touch(conn);
    const task = this.ins.openTask({
      connectionId: conn.id,
      state: "tunnel_connecting",
      listener,
      route: dstAddr,
      cluster: dest.service
        ? `${dest.service.namespace}/${dest.service.hostname}`
        : dest.workload?.name ?? target,
    });
    const logBase = {
      "src.addr": srcAddr,
      "src.workload": src.name,
      "src.namespace": src.namespace,
      "src.identity": hbone ? srcId : undefined,
      "dst.addr": hboneAddr ?? target,
      "dst.hbone_addr": hbone ? target : undefined,
      "dst.service": dest.service?.hostname,
      "dst.workload": dest.workload?.name,
      "dst.namespace": dest.workload?.namespace,
      "dst.identity": hbone ? dstId : undefined,
      direction: "outbound" as const,
    };
    let upstream: Duplex | RelayEnd;
    const attempt = hbone ? this.#upstream.begin("hbone", hboneAddr!) : this.#upstream.begin("tcp", dest.workload ? target : "passthrough");
    try {
      if (hbone) {
        upstream = await this.#hboneConnect(
          {
            srcIdentity: srcId,
            dstIdentities: acceptedIdentities(dest.workload!, dest.service),
            srcIp: src.workloadIps[0]!,
            dstAddr: hboneAddr!,
          },
          {
            ":authority": target,
            forwarded: dest.service
              ? `for="${srcAddr}";host=${dest.service.hostname}`
              : `for="${srcAddr}"`,
            baggage: baggage(src),
            traceparent: traceparent(),
          },
          task,
        );
      } else {
        upstream = await this.#tcpConnect(dest.ip, dest.port);
      }
      attempt.connected();
    } catch (e) {
      attempt.failed();
      const denied = e instanceof HboneStatusError &&
        (e.status === 401 || e.status === 403);
      this.#traffic(CLOSED, trafficLabels({ ...labelInput, responseFlags: denied ? "DENY" : "CONNECT" }));
      if (denied) {
        this.#refused("policy_denied", "source");
      }
      this.ins.closeTask(task.id);
      this.#logConn({
        ...logBase,
        level: "error",
        message: "connection complete",
        bytes_sent: 0,
        bytes_recv: 0,
        duration: Date.now() - start,
        error: denied
          ? `destination denied the connection (${(e as Error).message})`
          : (e as Error).message,
      });
      return respond.fail(denied ? "policy_denied" : "connect_failed");
    }
    if (down.closed) {
      upstream.destroy();
      attempt.closed();
      this.#traffic(CLOSED, labels);
      this.ins.closeTask(task.id);
      return;
    }
    respond.ok();
    void this.#relay(
      down,
      upstream,
      conn,
      task,
      attempt,
      labels,
      leftover,
      () => ({ ...logBase }),
      start,
    );
  }

  #relay(
    down: Duplex | RelayEnd,
    up: Duplex | RelayEnd,
    conn: LiveConnection,
    task: LiveTask,
    attempt: UpstreamAttempt,
    labels: Labels,
    leftover: Uint8Array,
    logFields: () => Omit<AccessLogEntry, "time" | "level" | "message">,
    start: number,
  ): Promise<void> {
    this.ins.setTaskState(task, "tunnel_streaming");
    const rx = this.#stats.counter(trafficStatName(RECEIVED, labels));
    const tx = this.#stats.counter(trafficStatName(SENT, labels));
    const tcp = this.#tcpStats(conn.listener);
    const release = this.drainer.track(() => {
      down.destroy();
      up.destroy();
    });
    return relay(down, up, {
      busy: this.ins,
      onUp: (n) => {
        rx.inc(n);
        tcp.rxBytes.inc(n);
        this.ins.addBytes(conn, n, 0);
      },
      onDown: (n) => {
        tx.inc(n);
        tcp.txBytes.inc(n);
        this.ins.addBytes(conn, 0, n);
      },
    }, leftover).then((r) => {
      release();
      attempt.closed();
      this.#traffic(CLOSED, labels);
      this.ins.closeTask(task.id);
      this.#logConn({
        ...logFields(),
        level: r.error ? "error" : "info",
        message: "connection complete",
        bytes_sent: r.down,
        bytes_recv: r.up,
        duration: Date.now() - start,
        error: r.error?.message,
      });
    });
  }

  // ---- inbound --------------------------------------------------------------------------------

  /** A CONNECT stream on the HBONE listener of workload IP `listenerIp` (whose certificate the peer verified). */
  #onHboneStream(
    stream: H2Stream,
    headers: IncomingHeaders,
    peer: HbonePeer,
    listenerIp: string,
  ): void {
    const fail = (status: number) => {
      if (!stream.destroyed && !stream.headersSent) {
        stream.respond({ ":status": status }, { endStream: true });
      }
    };
    if (headers[":method"] !== "CONNECT") return fail(405);
    const authority = String(headers[":authority"] ?? "");
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(authority);
    if (!m) return fail(400);
    const dstIp = m[1] ?? m[2]!;
    const dstPort = Number(m[3]);
    const fwd = String(headers["forwarded"] ?? "");
    const host = /;\s*host=([^;,\s]+)/.exec(fwd)?.[1];
    const srcIp = normalizeIp(peer.remoteAddress);
    // The peer chose this listener's certificate (identity): it may only reach this workload, as
    // ztunnel's inbound validates the HBONE target against the connection's destination (400) and
    // then connects to the latter. Compared as addresses, not by mapping `::ffff:a.b.c.d` to the
    // IPv4 listener: that spelling passed, and the policies, which never match across families,
    // were skipped.
    if (!sameIpAddress(dstIp, listenerIp)) {
      this.#refused("destination_mismatch", "destination");
      this.#logConn({
        level: "warn",
        message: "connection failed",
        "src.addr": `${srcIp}:${peer.remotePort}`,
        "src.identity": peer.identity,
        "dst.addr": authority,
        direction: "inbound",
        error: `HBONE target ${authority} is not served by the HBONE listener on ${listenerIp}`,
      });
      return fail(400);
    }
    const conn = this.ins.openConnection({
      remoteAddress: srcIp,
      remotePort: peer.remotePort,
      listener: "hbone_stream",
      kind: "hbone",
      peer: peer.identity,
    });
    this.#tcpStats(conn.listener).cxTotal.inc();
    stream.once("close", () => this.ins.closeConnection(conn.id));
    this.#inbound2({
      downstream: stream,
      conn,
      srcIp,
      srcAddr: `${srcIp}:${peer.remotePort}`,
      identity: peer.identity,
      dstIp: listenerIp,
      dstPort,
      serviceHost: host,
      listener: "hbone",
      ok: () => stream.respond({ ":status": 200 }),
      fail: (reason) =>
        fail(
          reason === "policy_denied"
            ? 401
            : reason === "connect_failed" || reason === "self_call"
            ? 503
            : 400,
        ),
    });
  }

  /** A connection on a workload's inbound plaintext port: a CONNECT to that workload, then the relay. */
  #onInboundPlain(socket: TcpSocket, listenerIp: string): SocketEnd {
    const { end, conn, done, refuse } = this.#acceptHandshake(socket, "inbound_plaintext", "tcp");
    const srcIp = normalizeIp(socket.remoteAddress);
    let buf: Uint8Array = new Uint8Array(0);
    end.early = (chunk: Uint8Array) => {
      buf = concat(buf, chunk);
      let req;
      try {
        req = parseConnectHead(buf);
      } catch (e) {
        return refuse(errorResponse((e as ConnectError).status ?? 400));
      }
      if (!req) return;
      done();
      const leftover = buf.subarray(req.consumed);
      if (req.host !== listenerIp) return refuse(errorResponse(400));
      this.#inbound2({
        downstream: end,
        conn,
        srcIp,
        srcAddr: `${srcIp}:${socket.remotePort}`,
        identity: undefined,
        dstIp: req.host,
        dstPort: req.port,
        serviceHost: undefined,
        listener: "inbound_plaintext",
        leftover,
        ok: () => socket.write(CONNECT_OK_BYTES),
        fail: (reason) => refuse(errorResponse(REFUSAL_STATUS[reason])),
      });
    };
    return end;
  }

  #inbound2(a: {
    downstream: Duplex | SocketEnd;
    conn: LiveConnection;
    srcIp: string;
    srcAddr: string;
    identity: string | undefined;
    dstIp: string;
    dstPort: number;
    serviceHost: string | undefined;
    listener: string;
    leftover?: Uint8Array;
    ok(): void;
    fail(reason: Refusal): void;
  }): void {
    const start = Date.now();
    if (this.#refuseSelfCall(a.dstIp, a.dstPort, a.srcAddr, "inbound")) return a.fail("self_call");
    const dst = this.#state.workloadByIp(a.dstIp);
    const target = `${a.dstIp}:${a.dstPort}`;
    if (!dst || dst.node !== this.init.node) {
      this.#refused("no_route", "destination");
      this.#tcpStats(a.conn.listener).noRoute.inc();
      this.#logConn({
        level: "warn",
        message: "connection failed",
        "src.addr": a.srcAddr,
        "src.identity": a.identity,
        "dst.addr": target,
        direction: "inbound",
        error: `${target} is not a workload on node ${this.init.node}`,
      });
      return a.fail("bad_request");
    }
    const srcW = this.#state.workloadByIp(a.srcIp);
    // The source workload is trusted for labels only when it owns the verified identity.
    const src = srcW && (!a.identity || workloadIdentity(srcW) === a.identity)
      ? srcW
      : undefined;
    const service: Service | undefined = a.serviceHost
      ? this.#state.serviceByHost(a.serviceHost)
      : undefined;
    const mtls = a.identity !== undefined;
    const labelInput = {
      reporter: "destination" as const,
      source: src,
      sourcePrincipal: a.identity,
      destination: dst,
      service,
      mtls,
    };
    const labels = trafficLabels(labelInput);
    this.#traffic(OPENED, labels);
    const logBase = {
      "src.addr": a.srcAddr,
      "src.workload": src?.name,
      "src.namespace": src?.namespace,
      "src.identity": a.identity,
      "dst.addr": target,
      "dst.service": service?.hostname,
      "dst.workload": dst.name,
      "dst.namespace": dst.namespace,
      "dst.identity": mtls ? workloadIdentity(dst) : undefined,
      direction: "inbound" as const,
    };
    const rbac: RbacConnection = {
      srcIdentity: a.identity,
      srcIp: a.srcIp,
      dstIp: a.dstIp,
      dstPort: a.dstPort,
    };
    const verdict = authorize(this.#state.policiesFor(dst), rbac);
    if (!verdict.allowed) {
      this.#traffic(CLOSED, trafficLabels({ ...labelInput, responseFlags: "DENY" }));
      this.#refused("policy_denied", "destination");
      this.#logConn({
        ...logBase,
        level: "error",
        message: "connection complete",
        bytes_sent: 0,
        bytes_recv: 0,
        duration: Date.now() - start,
        policy: verdict.policy,
        error: verdict.reason === "denied_by_policy"
          ? `policy rejection: explicitly denied by: ${verdict.policy}`
          : "policy rejection: allow policies exist, but none allowed",
      });
      return a.fail("policy_denied");
    }
    const task = this.ins.openTask({
      connectionId: a.conn.id,
      state: "tunnel_connecting",
      listener: a.listener,
      route: target,
      cluster: dst.name,
    });
    // 127.0.0.1 is the source the kernel picks for a loopback destination anyway: no bind (which
    // would also cost a slower ephemeral-port search, and on Deno a `node:net` socket).
    const localAddress = this.init.preserveSourceIp && isLoopbackV4(a.srcIp) && a.srcIp !== "127.0.0.1" ? a.srcIp : undefined;
    // Watched from the decision on, so that a policy update while it connects closes it too.
    let upstream: Duplex | RelayEnd | undefined;
    const authorized: AuthorizedConnection = {
      destination: dst,
      rbac,
      logFields: logBase,
      close: () => {
        a.downstream.destroy();
        upstream?.destroy();
      },
    };
    this.#authorized.add(authorized);
    const attempt = this.#upstream.begin("tcp", target);
    this.#tcpConnect(a.dstIp, a.dstPort, localAddress).then((connected) => {
      upstream = connected;
      attempt.connected();
      const downstreamClosed = a.downstream instanceof SocketEnd ? a.downstream.closed : a.downstream.destroyed;
      if (downstreamClosed) {
        this.#authorized.delete(authorized);
        connected.destroy();
        attempt.closed();
        this.#traffic(CLOSED, labels);
        this.ins.closeTask(task.id);
        return;
      }
      a.ok();
      void this.#relay(
        a.downstream,
        connected,
        a.conn,
        task,
        attempt,
        labels,
        a.leftover ?? new Uint8Array(0),
        () => logBase,
        start,
      ).finally(() => this.#authorized.delete(authorized));
    }, (e: Error) => {
      this.#authorized.delete(authorized);
      attempt.failed();
      this.#traffic(CLOSED, trafficLabels({ ...labelInput, responseFlags: "CONNECT" }));
      this.ins.closeTask(task.id);
      this.#logConn({
        ...logBase,
        level: "error",
        message: "connection complete",
        duration: Date.now() - start,
        error: e.message,
      });
      a.fail("connect_failed");
    });
  }

  /**
   * A TCP connection to a workload: a runtime socket (a fraction of `node:net`'s CPU per byte), or
   * `node:net` where the runtime cannot bind the source address to preserve (Deno).
   */
  async #tcpConnect(host: string, port: number, localAddress?: string): Promise<RelayEnd | Duplex> {
    if (localAddress !== undefined && !this.#runtime.bindsLocalAddress) return await netConnect(host, port, localAddress);
    const end = SocketEnd.connect(this.#runtime, { hostname: host, port, ...(localAddress ? { localAddress } : {}) });
    await end.opened;
    return end;
  }
}

function isLoopbackV4(ip: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(ip);
}

function netConnect(host: string, port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = new net.Socket({ allowHalfOpen: true });
    s.once("error", reject);
    s.connect({ host, port, localAddress }, () => {
      s.off("error", reject);
      s.on("error", () => {});
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

/** ztunnel's baggage header for the source workload. */
export function baggage(w: Workload): string {
  return [
    `k8s.cluster.name=${w.clusterId}`,
    `k8s.namespace.name=${w.namespace}`,
    `k8s.${w.workloadType || "pod"}.name=${w.workloadName}`,
    `service.name=${w.canonicalName}`,
    `service.version=${w.canonicalRevision}`,
  ].join(",");
}

function traceparent(): string {
  const hex = (n: number) =>
    Array.from(
      crypto.getRandomValues(new Uint8Array(n)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  return `00-${hex(16)}-${hex(8)}-01`;
}
