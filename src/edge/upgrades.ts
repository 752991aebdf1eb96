/**
 * Requests that ask to switch protocols: `CONNECT` (a tunnel) and HTTP/1.1 `Upgrade` (WebSocket and
 * others). Envoy forwards them only where `upgrade_configs` (on the HCM or the route) enable their
 * type, and a CONNECT only on a `connect_matcher` route, which weft does not support yet. Refused
 * ones are answered as Envoy answers them. {@linkcode switchAllowed} is the one place that decides.
 *
 * @example
 * ```ts
 * const wanted = protocolSwitch(head);
 * if (wanted !== null && !switchAllowed(wanted, hcm, route)) {
 *   // 403 (Upgrade) or 404 (CONNECT: no connect_matcher route)
 * }
 * ```
 * @module
 */
import type { HttpConnectionManager, Route } from "../config/types.ts";
import type { RelayEnd, RelaySink } from "../net/relay.ts";
import type { RequestHead } from "./http1/types.ts";

/** A protocol switch a request asks for. */
export type ProtocolSwitch =
  | { kind: "connect" }
  /** `type` is the `Upgrade` value, e.g. "websocket" (Envoy's upgrade_type, matched case-insensitively). */
  | { kind: "upgrade"; type: string };

const CONNECT: ProtocolSwitch = { kind: "connect" };

/**
 * The switch `head` asks for, or null. An Upgrade counts only with `Connection: upgrade` (the codec
 * sets `head.upgrade` then); `h2c` is ignored and the request served as a plain one, as Envoy's
 * HTTP/1 codec does (the upgrade fields are hop-by-hop and are not forwarded).
 */
export function protocolSwitch(head: RequestHead): ProtocolSwitch | null {
  if (head.method === "CONNECT") return CONNECT;
  const type = head.upgrade;
  if (type === null || type.trim().toLowerCase() === "h2c") return null;
  return { kind: "upgrade", type };
}

/**
 * Whether a switch may be forwarded on `route` (the route it matched) of `hcm`, as Envoy's
 * `createUpgradeFilterChain` decides: a route's `upgrade_configs` entry for the type decides when
 * present (`enabled: false` refuses even what the HCM enables); otherwise the HCM's entry does. A
 * type neither lists is refused. A CONNECT matches no route (it has no path, and only
 * `connect_matcher` routes, not supported yet, take it).
 */
export function switchAllowed(wanted: ProtocolSwitch, hcm: HttpConnectionManager, route: Route): boolean {
  if (wanted.kind === "connect") return false;
  const type = wanted.type.trim().toLowerCase();
  if (route.action.type === "route") {
    const own = route.action.upgradeConfigs.find((c) => c.upgradeType === type);
    if (own !== undefined) return own.enabled;
  }
  return hcm.upgradeConfigs.find((c) => c.upgradeType === type)?.enabled ?? false;
}

/** What a {@linkcode SwitchedEnd} does to the socket behind it. */
export interface SwitchedIo {
  /** Queue bytes; false under back-pressure (a drain follows). */
  write(bytes: Uint8Array): boolean;
  /** Half-close: send our FIN once what was written is sent, and keep reading. */
  end(): void;
  /** Close once what was written is sent. */
  closeAfterWrites(): void;
  /** Close now. */
  destroy(): void;
  pause(): void;
  resume(): void;
}

/**
 * One side of a stream that switched protocols (the client's connection, or the upstream one), as
 * an end of the shared byte relay (`relay` in src/net/relay.ts). Its owner (the downstream
 * connection or the exchange, whose socket handlers these stay) passes the socket's events on with
 * `data`, `drain`, `peerEnded` and `closed`. Both sockets are half-open: a FIN from one peer is
 * passed to the other, which may go on sending; as in the tunnel's `SocketEnd`, a close before our
 * own FIN was sent (a reset, an error) is abrupt and takes the other side down.
 *
 * @example
 * ```ts
 * const up = new SwitchedEnd(runtime.lendsReadBuffers, io);
 * relay(downstreamEnd, up).then(done);
 * // in the socket's handlers:
 * up.data(bytes);
 * ```
 */
export class SwitchedEnd implements RelayEnd {
  private sink: RelaySink | null = null;
  private isClosed = false;
  private sentEnd = false;
  private peerEnd = false;

  constructor(readonly lendsReads: boolean, private readonly io: SwitchedIo) {}

  attach(sink: RelaySink): void {
    this.sink = sink;
    if (this.peerEnd) sink.end();
  }
  write(bytes: Uint8Array): boolean {
    return this.io.write(bytes);
  }
  end(): void {
    if (this.sentEnd) return;
    this.sentEnd = true;
    this.io.end();
  }
  closeAfterFlush(): void {
    this.sentEnd = true;
    this.io.closeAfterWrites();
  }
  destroy(): void {
    this.io.destroy();
    // A socket destroyed by weft may report no close of its own (an upstream one drops its user).
    this.closed(true);
  }
  pause(): void {
    this.io.pause();
  }
  resume(): void {
    this.io.resume();
  }

  /** Bytes read from this side's socket. */
  data(bytes: Uint8Array): void {
    this.sink?.data(bytes);
  }
  /** This side's socket can take more. */
  drain(): void {
    this.sink?.drain();
  }
  /** This side's peer sent its FIN: nothing more will be read. */
  peerEnded(): void {
    this.peerEnd = true;
    this.sink?.end();
  }
  /**
   * This side's socket closed; `reset` when weft destroyed it. Reported once; abrupt unless our FIN
   * was sent first (Bun closes a half-open socket whose FIN was sent when the peer's arrives).
   */
  closed(reset: boolean, error?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.sink?.close(reset || error !== undefined || !this.sentEnd, error);
  }
}
