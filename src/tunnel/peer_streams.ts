/**
 * Byte streams between workers over a `MessagePort`, so one worker can own the HBONE pool of a
 * (source, destination) key while the others forward their connections to it: ztunnel shares its
 * pool across threads, and a socket cannot move between Web Workers.
 *
 * Each stream is a `Duplex` on both ends (so `relay()` pipes it like a socket), multiplexed by id on
 * one port per worker pair, with credit-based flow control: a side may have at most {@link WINDOW}
 * bytes in flight that its peer has not consumed. Chunks travel as transferred `ArrayBuffer`s.
 *
 * @example
 * ```ts
 * // worker X (accepted the client):
 * const remote = await peers.open(ownerId, { key, headers }); // a Duplex once the owner has a stream
 * relay(clientSocket, remote);
 * // worker Y (owner): peers.onOpen = async (req, accept, reject) => relay(accept(), await pool.connect(...))
 * ```
 *
 * @module
 */

import { Duplex } from "node:stream";

/** Unconsumed bytes a side may have in flight per stream. */
export const WINDOW = 2 << 20;
/**
 * How long an open may wait for the owner's answer (which includes its HBONE connect: TLS handshake
 * and CONNECT response). A worker that has died or closed its ports never answers.
 */
export const OPEN_TIMEOUT_MS = 15_000;

type Msg =
  | { t: "open"; id: string; req: unknown }
  | { t: "opened"; id: string }
  | { t: "failed"; id: string; status?: number; message: string }
  | { t: "data"; id: string; b: ArrayBuffer }
  | { t: "credit"; id: string; n: number }
  | { t: "end"; id: string }
  | { t: "close"; id: string };

/** Why an open was refused by the owner. */
export class PeerOpenError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "PeerOpenError";
  }
}

/** One end of a forwarded stream. */
export class PeerStream extends Duplex {
  #unacked = 0;
  #owed = 0;
  #pendingWrite: (() => void) | undefined;
  #remoteClosed = false;
  #remoteEnded = false;

  /**
   * Set by a writer that never touches a chunk again after `write()` (a relay reading a socket, whose
   * reads each own their buffer): such chunks then move to the peer without a copy, which detaches
   * them. Left false, every chunk is copied, as a `Writable` promises.
   */
  moveWholeChunks = false;

  constructor(
    readonly id: string,
    /** The worker at the other end. */
    readonly peer: number,
    private readonly send: (m: Msg, transfer?: Transferable[]) => void,
  ) {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    // A slice of a larger (possibly pooled) buffer is always copied out.
    const movable = this.moveWholeChunks && chunk.byteOffset === 0 &&
      chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
    const ab = movable
      ? chunk.buffer as ArrayBuffer
      : chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
    const n = ab.byteLength; // read before the transfer detaches it
    this.send({ t: "data", id: this.id, b: ab }, [ab]);
    this.#unacked += n;
    if (this.#unacked < WINDOW) cb();
    else this.#pendingWrite = () => cb();
  }

  override _read(): void {
    if (this.#owed > 0) {
      this.send({ t: "credit", id: this.id, n: this.#owed });
      this.#owed = 0;
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.send({ t: "end", id: this.id });
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#remoteClosed) this.send({ t: "close", id: this.id });
    this.#remoteClosed = true;
    const w = this.#pendingWrite;
    this.#pendingWrite = undefined;
    w?.();
    cb(err);
  }

  /** @internal */
  onData(ab: ArrayBuffer): void {
    if (this.destroyed) return;
    const n = ab.byteLength;
    if (this.push(new Uint8Array(ab))) this.send({ t: "credit", id: this.id, n });
    else this.#owed += n;
  }

  /** @internal */
  onCredit(n: number): void {
    this.#unacked -= n;
    if (this.#pendingWrite && this.#unacked < WINDOW) {
      const w = this.#pendingWrite;
      this.#pendingWrite = undefined;
      w();
    }
  }

  /** @internal */
  onEnd(): void {
    this.#remoteEnded = true;
    if (!this.destroyed) this.push(null);
  }

  /**
   * @internal The peer closed. After its `end`, that is a clean close: what it sent is still being
   * read here, so close once it has been. Before `end`, it is an abort.
   */
  onClose(): void {
    this.#remoteClosed = true;
    if (!this.#remoteEnded || this.readableEnded) this.destroy();
    else this.once("end", () => this.destroy());
  }
}

export type OpenHandler = (
  req: unknown,
  accept: () => PeerStream,
  reject: (message: string, status?: number) => void,
) => void;

/** The streams a worker has with its peers, one port per peer worker. */
export class PeerStreams {
  readonly #ports = new Map<number, MessagePort>();
  readonly #streams = new Map<string, PeerStream>();
  readonly #pending = new Map<string, { owner: number; opened: () => void; reject: (e: Error) => void }>();
  #next = 0;
  /** Called on the owner when a peer asks for a stream. */
  onOpen: OpenHandler = (_req, _accept, reject) => reject("no handler");

  constructor(readonly self: number) {}

  get peers(): number[] {
    return [...this.#ports.keys()];
  }

  /** Number of open forwarded streams (both directions). */
  get size(): number {
    return this.#streams.size;
  }

  addPeer(worker: number, port: MessagePort): void {
    this.#ports.set(worker, port);
    const send = (m: Msg, transfer: Transferable[] = []) => port.postMessage(m, transfer);
    port.onmessage = (e: MessageEvent<Msg>) => this.#onMessage(worker, e.data, send);
  }

  /**
   * Worker `worker` is gone (it died): its port is closed, opens waiting for it are rejected and
   * streams with it are destroyed; `peers` no longer lists it.
   */
  removePeer(worker: number): void {
    this.#drop(worker, `worker ${worker} is gone`);
  }

  /** Closes the port to `worker`, rejects the opens waiting for it (`why`) and destroys its streams. */
  #drop(worker: number, why: string): void {
    const port = this.#ports.get(worker);
    if (!port) return;
    this.#ports.delete(worker);
    for (const [id, p] of this.#pending) {
      if (p.owner !== worker) continue;
      this.#pending.delete(id);
      p.reject(new PeerOpenError(why));
    }
    for (const s of this.#streams.values()) if (s.peer === worker) s.destroy();
    port.close();
  }

  /**
   * Asks worker `owner` for a stream; resolves once it has one. Rejects with a `PeerOpenError` when
   * the owner refuses, does not answer within `timeoutMs`, or this side closes first.
   */
  open(owner: number, req: unknown, timeoutMs = OPEN_TIMEOUT_MS): Promise<PeerStream> {
    const port = this.#ports.get(owner);
    if (!port) return Promise.reject(new Error(`no port to worker ${owner}`));
    const id = `${this.self}.${++this.#next}`;
    const send = (m: Msg, transfer: Transferable[] = []) => port.postMessage(m, transfer);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.delete(id)) reject(new PeerOpenError(`worker ${owner} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        owner,
        // Tracked synchronously, before the owner's next message (data) is dispatched.
        opened: () => {
          clearTimeout(timer);
          resolve(this.#track(new PeerStream(id, owner, send)));
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      send({ t: "open", id, req });
    });
  }

  #track(s: PeerStream): PeerStream {
    this.#streams.set(s.id, s);
    s.once("close", () => this.#streams.delete(s.id));
    return s;
  }

  #onMessage(from: number, m: Msg, send: (m: Msg, transfer?: Transferable[]) => void): void {
    switch (m.t) {
      case "open": {
        let done = false;
        this.onOpen(
          m.req,
          () => {
            done = true;
            const s = this.#track(new PeerStream(m.id, from, send));
            send({ t: "opened", id: m.id });
            return s;
          },
          (message, status) => {
            if (done) return;
            done = true;
            send(status === undefined ? { t: "failed", id: m.id, message } : { t: "failed", id: m.id, message, status });
          },
        );
        return;
      }
      case "opened": {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        // Given up on (timed out): the owner's end is closed rather than left waiting.
        if (p) p.opened();
        else send({ t: "close", id: m.id });
        return;
      }
      case "failed": {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        p?.reject(new PeerOpenError(m.message, m.status));
        return;
      }
      case "data":
        this.#streams.get(m.id)?.onData(m.b);
        return;
      case "credit":
        this.#streams.get(m.id)?.onCredit(m.n);
        return;
      case "end":
        this.#streams.get(m.id)?.onEnd();
        return;
      case "close":
        this.#streams.get(m.id)?.onClose();
        return;
    }
  }

  close(): void {
    for (const worker of [...this.#ports.keys()]) this.#drop(worker, "closing");
  }
}
