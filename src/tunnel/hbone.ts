/**
 * HBONE: HTTP/2 CONNECT (`:authority` = destination IP:port) over TLS 1.3 with mutual authentication
 * and ALPN h2. The server side requests and verifies client certificates against the root; the
 * client side is a pool of HTTP/2 sessions per (source identity, destination identity, source IP,
 * destination address) with at most `maxStreams` concurrent streams per session (ztunnel's pool key
 * and its default of 100), opening a new session when every existing one is full.
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

import http2 from "node:http2";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { GROW_SESSION_WINDOW } from "./_compat.ts";
import { peerIdentity, spiffeUrisFromSubjectAltName } from "./identity.ts";

/** ztunnel's default cap of concurrent streams per pooled connection. */
export const DEFAULT_MAX_STREAMS = 100;
/** Per-stream flow-control window; large so one stream can fill a loopback link. */
export const STREAM_WINDOW = 8 << 20;
/**
 * TLS 1.3 suites in preference order: AES-128-GCM first (fastest with AES-NI; Deno's default pick
 * was measurably slower on bulk streams), then the other two standard suites.
 */
export const TLS13_CIPHERS = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
/** Largest HTTP/2 frame we accept (fewer, larger DATA frames on bulk streams). */
export const MAX_FRAME = 1 << 20;
/** A pooled session with no streams is closed after this long. */
export const DEFAULT_IDLE_MS = 30_000;

export interface TlsMaterial {
  key: string;
  cert: string;
  /** The root(s) peers must chain to. */
  ca: string;
}

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
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  peer: HbonePeer,
) => void;

export interface HboneServerHooks {
  /** A TLS handshake failed or the client certificate was refused. */
  onHandshakeError?: (err: Error, remoteAddress: string | undefined) => void;
  onSession?: (session: http2.ServerHttp2Session, sessionId: number) => void;
}

/** Creates (does not bind) an HBONE server presenting `material`'s certificate. */
export function createHboneServer(
  material: TlsMaterial,
  onStream: HboneStreamHandler,
  hooks: HboneServerHooks = {},
): http2.Http2SecureServer {
  const server = http2.createSecureServer({
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    ciphers: TLS13_CIPHERS,
    honorCipherOrder: true,
    ALPNProtocols: ["h2"],
    allowHTTP1: false,
    settings: {
      initialWindowSize: STREAM_WINDOW,
      maxFrameSize: MAX_FRAME,

      maxConcurrentStreams: 1000,
      enablePush: false,
    },
  });
  let sessions = 0;
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
    hooks.onHandshakeError?.(err, socket?.remoteAddress);
  });
  server.on("session", (session: http2.ServerHttp2Session) => {
    const id = ++sessions;
    const socket = session.socket as tls.TLSSocket;
    // Trust only what the handshake verified (requestCert + rejectUnauthorized).
    const identity = peerIdentity(socket);
    if (!identity) {
      hooks.onHandshakeError?.(
        new Error("peer presented no verified SPIFFE identity"),
        socket.remoteAddress,
      );
      session.destroy();
      return;
    }
    const grow = GROW_SESSION_WINDOW.server;
    if (grow.when === "now") growSessionWindow(session, grow.bytes);
    else session.once("localSettings", () => growSessionWindow(session, grow.bytes));
    session.on("error", () => {});
    hooks.onSession?.(session, id);
    const peer: HbonePeer = {
      identity,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
      sessionId: id,
    };
    const streams = new Set<http2.ServerHttp2Stream>();
    const killStreams = () => {
      for (const st of streams) st.destroy();
      streams.clear();
    };
    session.on("close", killStreams);
    socket.on("close", () => {
      killStreams();
      session.destroy();
    });
    session.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      streams.add(stream);
      stream.on("close", () => streams.delete(stream));
      onStream(stream, headers, peer);
    });
  });
  return server;
}

/** Raises the session's connection-level receive window (when the runtime allows: `GROW_SESSION_WINDOW`). */
function growSessionWindow(session: http2.Http2Session, bytes: number): void {
  try {
    session.setLocalWindowSize(bytes);
  } catch { /* not supported */ }
}

/** What a pooled session is keyed by. */
export interface PoolKey {
  srcIdentity: string;
  dstIdentity: string;
  /** The source workload IP the connection is made from. */
  srcIp: string;
  /** The destination HBONE address, `ip:port`. */
  dstAddr: string;
}

export function poolKeyString(k: PoolKey): string {
  return `${k.srcIdentity}|${k.dstIdentity}|${k.srcIp}|${k.dstAddr}`;
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
  session: http2.ClientHttp2Session;
  streams: Set<http2.ClientHttp2Stream>;
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
    headers: http2.OutgoingHttpHeaders,
  ): Promise<http2.ClientHttp2Stream> {
    if (this.#closing) throw new Error("HBONE pool is closed");
    const ks = poolKeyString(key);
    let list = this.#byKey.get(ks);
    if (!list) this.#byKey.set(ks, list = []);
    let entry = list.find((e) =>
      !e.closed && e.info.streams < this.#opts.maxStreams
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
    const stream = e.session.request({ ":method": "CONNECT", ...headers }, {
      endStream: false,
    });
    stream.on("close", release);
    return await new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        release();
        reject(err);
      };
      stream.once("error", onError);
      stream.once("response", (h) => {
        stream.off("error", onError);
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
    let socket: tls.TLSSocket | undefined;
    const session = http2.connect(`https://${key.dstAddr}`, {
      settings: { initialWindowSize: STREAM_WINDOW, maxFrameSize: MAX_FRAME, enablePush: false },
      createConnection: () => {
        const options: tls.ConnectionOptions & { localAddress?: string } = {
          host,
          port,
          localAddress: key.srcIp,
          key: material?.key,
          cert: material?.cert,
          ca: material?.ca,
          minVersion: "TLSv1.3",
          ciphers: TLS13_CIPHERS,
          ALPNProtocols: ["h2"],
          servername: undefined,
          checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => {
            const ids = spiffeUrisFromSubjectAltName(cert.subjectaltname);
            if (ids.includes(key.dstIdentity)) return undefined;
            return new Error(
              `server identity ${
                ids.join(",") || "(none)"
              } is not ${key.dstIdentity}`,
            );
          },
        };
        socket = tls.connect(options);
        return socket as unknown as Duplex;
      },
    });
    const entry: Entry = {
      info,
      session,
      streams: new Set(),
      ready: Promise.resolve(),
      closed: false,
    };
    // When the connection dies, its streams die with it (not every runtime propagates this).
    const killStreams = () => {
      for (const st of entry.streams) st.destroy();
      entry.streams.clear();
    };
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
      session.once("connect", () => {
        clearTimeout(timer);
        const grow = GROW_SESSION_WINDOW.client;
        if (grow.when === "now") growSessionWindow(session, grow.bytes);
        const s = socket ?? (session.socket as tls.TLSSocket);
        info.localAddress = s?.localAddress ?? "";
        info.localPort = s?.localPort ?? 0;
        info.remoteAddress = s?.remoteAddress ?? host;
        info.remotePort = s?.remotePort ?? port;
        resolve();
      });
      session.once("error", (err) => {
        clearTimeout(timer);
        drop();
        reject(err);
      });
    });
    entry.ready.catch(() => {});
    session.on("error", () => {});
    session.on("goaway", drop);
    session.on("close", () => {
      drop();
      killStreams();
    });
    socket?.on("close", () => {
      drop();
      killStreams();
      session.destroy();
    });
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
