/**
 * HBONE: HTTP/2 CONNECT (`:authority` = destination IP:port) over TLS 1.3 with mutual authentication
 * and ALPN h2. The server side requests and verifies client certificates against the root; the
 * client side is a pool of HTTP/2 sessions per (source identity, the identities the destination may
 * present, source IP, destination address) with at most `maxStreams` concurrent streams per session (ztunnel's pool key
 * and its default of 100), opening a new session when every existing one is full. HTTP/2 itself is
 * weft's own (`src/h2/`), over `node:tls` sockets.
 *
 * @example
 * ```ts
 * const server = createHboneServer({ key, cert, ca }, (stream, headers, peer) => { ... });
 * server.listen({ host: "127.0.1.3", port: 15008, reusePort: true });
 * const pool = new HbonePool({ tls: () => ({ key, cert, ca }) });
 * const stream = await pool.connect(key, { ":authority": "127.0.1.3:8080" });
 * ```
 *
 * @module
 */

import tls from "node:tls";
import {
  H2Session,
  type H2SessionOptions,
  type H2Stream,
  type IncomingHeaders,
  type OutgoingHeaders,
} from "../h2/session.ts";
import { mutualTlsClientOptions, mutualTlsServerOptions, type TlsMaterial } from "../tls/context.ts";
import { peerIdentity } from "../tls/identity.ts";

export type { H2Session, H2Stream, IncomingHeaders, OutgoingHeaders };

/** ztunnel's default cap of concurrent streams per pooled connection. */
export const DEFAULT_MAX_STREAMS = 100;
/**
 * ztunnel's HTTP/2 settings for HBONE (its pool's): windows of 4 MiB per stream and 32 MiB per
 * connection and 1 MiB frames, so one stream can carry bulk TCP at full speed, and 1000 streams.
 */
export const HBONE_H2_OPTIONS: H2SessionOptions = {
  streamWindow: 4 << 20,
  connectionWindow: 32 << 20,
  maxFrameSize: 1 << 20,
  maxConcurrentStreams: 1000,
};
/** A pooled session with no streams is closed after this long. */
export const DEFAULT_IDLE_MS = 30_000;

/** The verified peer of an inbound HBONE stream. */
export interface HbonePeer {
  identity: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** A per-server session number, stable for all the streams of one connection. */
  sessionId: number;
}

export type HboneStreamHandler = (
  stream: H2Stream,
  headers: IncomingHeaders,
  peer: HbonePeer,
) => void;

export interface HboneServerHooks {
  /** A TLS handshake failed or the client certificate was refused. */
  onHandshakeError?: (err: Error, remoteAddress: string | undefined) => void;
  onSession?: (session: H2Session, sessionId: number) => void;
}

/** Creates (does not bind) an HBONE server presenting `material`'s certificate. */
export function createHboneServer(
  material: TlsMaterial,
  onStream: HboneStreamHandler,
  hooks: HboneServerHooks = {},
): tls.Server {
  const server = tls.createServer(mutualTlsServerOptions(material, { alpnProtocols: ["h2"] }));
  let sessions = 0;
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
    hooks.onHandshakeError?.(err, socket?.remoteAddress);
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    socket.on("error", () => {});
    // Trust only what the handshake verified (requestCert + rejectUnauthorized).
    const identity = peerIdentity(socket);
    const refuse = identity === undefined
      ? "peer presented no verified SPIFFE identity"
      : socket.alpnProtocol !== "h2"
      ? "peer did not negotiate ALPN h2"
      : undefined;
    if (refuse) {
      hooks.onHandshakeError?.(new Error(refuse), socket.remoteAddress);
      socket.destroy();
      return;
    }
    const id = ++sessions;
    const session = new H2Session(socket, "server", HBONE_H2_OPTIONS);
    hooks.onSession?.(session, id);
    const peer: HbonePeer = {
      identity: identity!,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
      sessionId: id,
    };
    session.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      onStream(stream, headers, peer);
    });
  });
  return server;
}

/** What a pooled session is keyed by (ztunnel's `WorkloadKey`). */
export interface PoolKey {
  srcIdentity: string;
  /**
   * The identities the destination's certificate may present, one of which it must: its workload's,
   * and, reached through a service, the service's `subjectAltNames`. A session verified against one
   * set is never used for another.
   */
  dstIdentities: readonly string[];
  /** The source workload IP the connection is made from. */
  srcIp: string;
  /** The destination HBONE address, `ip:port`. */
  dstAddr: string;
}

/** The key as one string; the same set of destination identities in any order is one key. */
export function poolKeyString(k: PoolKey): string {
  const accepted = [...new Set(k.dstIdentities)].sort().join(",");
  return `${k.srcIdentity}|${accepted}|${k.srcIp}|${k.dstAddr}`;
}

/** A pooled session as shown on `/connections`. */
export interface PooledSessionInfo {
  id: number;
  key: PoolKey;
  streams: number;
  totalStreams: number;
  openedAt: number;
  lastActivityAt: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

interface Entry {
  info: PooledSessionInfo;
  session: H2Session;
  ready: Promise<void>;
  closed: boolean;
  idleTimer?: ReturnType<typeof setTimeout> | undefined;
}

/** Thrown when the destination answers the CONNECT with a non-200 status. */
export class HboneStatusError extends Error {
  constructor(readonly status: number) {
    super(`HBONE CONNECT refused with status ${status}`);
    this.name = "HboneStatusError";
  }
}

export interface HbonePoolOptions {
  /** Current TLS material for the source identity (certificates rotate). */
  tls: (srcIdentity: string) => TlsMaterial | undefined;
  maxStreams?: number;
  idleMs?: number;
  connectTimeoutMs?: number;
}

export class HbonePool {
  readonly #byKey = new Map<string, Entry[]>();
  #ids = 0;
  readonly #opts: Required<HbonePoolOptions>;
  #closing = false;

  constructor(opts: HbonePoolOptions) {
    this.#opts = {
      maxStreams: DEFAULT_MAX_STREAMS,
      idleMs: DEFAULT_IDLE_MS,
      connectTimeoutMs: 10_000,
      ...opts,
    };
  }

  /** Live sessions, for `/connections`. */
  sessions(): PooledSessionInfo[] {
    const out: PooledSessionInfo[] = [];
    for (const list of this.#byKey.values()) {
      for (const e of list) {
        if (!e.closed) out.push({ ...e.info, key: { ...e.info.key } });
      }
    }
    return out;
  }

  /**
   * Opens a CONNECT stream to `headers[":authority"]` through a pooled session for `key`.
   * Resolves once the destination answered 200; rejects with {@link HboneStatusError} otherwise.
   */
  async connect(
    key: PoolKey,
    headers: OutgoingHeaders,
  ): Promise<H2Stream> {
    if (this.#closing) throw new Error("HBONE pool is closed");
    const ks = poolKeyString(key);
    let list = this.#byKey.get(ks);
    if (!list) this.#byKey.set(ks, list = []);
    let entry = list.find((e) =>
      !e.closed && !e.session.closing &&
      e.info.streams < Math.min(this.#opts.maxStreams, e.session.peerMaxConcurrentStreams)
    );
    if (!entry) {
      entry = this.#open(key, ks);
      list.push(entry);
    }
    const e = entry;
    e.info.streams++;
    e.info.totalStreams++;
    if (e.idleTimer) {
      clearTimeout(e.idleTimer);
      e.idleTimer = undefined;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      e.info.streams--;
      e.info.lastActivityAt = Date.now();
      if (e.info.streams === 0 && !e.closed) {
        e.idleTimer = setTimeout(() => e.session.close(), this.#opts.idleMs);
        (e.idleTimer as { unref?: () => void }).unref?.();
      }
    };
    try {
      await e.ready;
    } catch (err) {
      release();
      throw err;
    }
    let stream: H2Stream;
    try {
      stream = e.session.request({ ":method": "CONNECT", ...headers });
    } catch (err) {
      release();
      throw err;
    }
    stream.on("close", release);
    return await new Promise((resolve, reject) => {
      const onClose = () => reject(new Error("HBONE stream closed before its response"));
      const onError = (err: Error) => {
        stream.off("close", onClose);
        reject(err);
      };
      stream.once("error", onError);
      stream.once("close", onClose);
      stream.once("response", (h: IncomingHeaders) => {
        stream.off("error", onError);
        stream.off("close", onClose);
        stream.on("error", () => {});
        const status = Number(h[":status"]);
        if (status === 200) resolve(stream);
        else {
          stream.destroy();
          reject(new HboneStatusError(status));
        }
      });
    });
  }

  #open(key: PoolKey, ks: string): Entry {
    const material = this.#opts.tls(key.srcIdentity);
    const now = Date.now();
    const info: PooledSessionInfo = {
      id: ++this.#ids,
      key,
      streams: 0,
      totalStreams: 0,
      openedAt: now,
      lastActivityAt: now,
      localAddress: "",
      localPort: 0,
      remoteAddress: "",
      remotePort: 0,
    };
    const colon = key.dstAddr.lastIndexOf(":");
    const host = key.dstAddr.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(key.dstAddr.slice(colon + 1));
    const socket = tls.connect(mutualTlsClientOptions(material, {
      host,
      port,
      localAddress: key.srcIp,
      alpnProtocols: ["h2"],
      peerUriSans: key.dstIdentities,
    }));
    socket.on("error", () => {});
    // Requests written before the handshake completes wait in the TLS socket.
    const session = new H2Session(socket, "client", HBONE_H2_OPTIONS);
    const entry: Entry = { info, session, ready: Promise.resolve(), closed: false };
    const drop = () => {
      if (entry.closed) return;
      entry.closed = true;
      if (entry.idleTimer) clearTimeout(entry.idleTimer);
      const list = this.#byKey.get(ks);
      if (list) {
        const i = list.indexOf(entry);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.#byKey.delete(ks);
      }
    };
    entry.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`HBONE connect to ${key.dstAddr} timed out`));
        session.destroy();
      }, this.#opts.connectTimeoutMs);
      session.once("close", (err) => {
        clearTimeout(timer);
        reject(err ?? new Error(`HBONE connection to ${key.dstAddr} closed`));
      });
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        if (socket.alpnProtocol !== "h2") {
          reject(new Error(`HBONE peer ${key.dstAddr} did not negotiate ALPN h2`));
          session.destroy();
          return;
        }
        info.localAddress = socket.localAddress ?? "";
        info.localPort = socket.localPort ?? 0;
        info.remoteAddress = socket.remoteAddress ?? host;
        info.remotePort = socket.remotePort ?? port;
        resolve();
      });
    });
    entry.ready.catch(drop);
    session.on("goaway", drop);
    session.on("close", drop);
    return entry;
  }

  /** Closes idle sessions now and the rest once their streams finish (GOAWAY). */
  close(): void {
    this.#closing = true;
    for (const list of this.#byKey.values()) {
      for (const e of list) e.session.close();
    }
  }

  /** Destroys every session. */
  destroy(): void {
    this.#closing = true;
    for (const list of [...this.#byKey.values()]) {
      for (const e of [...list]) e.session.destroy();
    }
  }
}
