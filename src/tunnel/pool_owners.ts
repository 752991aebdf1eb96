/**
 * Which worker of a node carries a pool key's HBONE streams, in memory the node's workers share.
 *
 * While a key has streams in flight, every new stream for it goes to the worker that carries them,
 * so concurrent streams share that worker's HTTP/2 connections (ztunnel pools across threads; a
 * socket cannot move between Web Workers, so other workers forward their streams to it). While the
 * key has none in flight, the next worker that needs it takes it: a connection that arrives alone is
 * served where the kernel accepted it, and its bytes do not cross workers (on a 2-core machine that
 * hop cost HBONE 10–20% of its throughput, see bench/tunnel/README.md). A worker that takes a key
 * may open a connection of its own for it; the previous owner's idle connections stay pooled until
 * their idle timeout and serve the key again if it comes back.
 *
 * Keys hash into a fixed table of slots, one 32-bit word each: the owner's id + 1 in the low 8 bits,
 * the streams in flight above. Keys that share a slot share an owner, which is correct, only less
 * local. After the slots, one bit per worker says it died ({@linkcode markWorkerDead}, by main): a
 * dead worker's keys go to the next worker that needs them, whatever their count (its own streams
 * will never be released), and a claim on a dead owner releases nothing (the count it was part of
 * went with the takeover).
 *
 * @example
 * ```ts
 * const shared = createPoolOwners(); // on main, handed to every worker
 * const owners = new PoolOwners(shared, workerId);
 * const claim = owners.acquire(poolKeyString(key)); // claim.owner: the worker to open the stream on
 * stream.once("close", () => owners.release(claim));
 * ```
 *
 * @module
 */

/** Slots in the table (keys beyond this share slots). */
export const POOL_OWNER_SLOTS = 4096;
/** Workers a table can name (8 bits of owner id + 1). */
export const MAX_POOL_OWNER_WORKERS = 255;
const OWNER_MASK = 0xff;
const ONE_STREAM = 1 << 8;
/** Words of dead-worker bits after the slots. */
const DEAD_WORDS = Math.ceil((MAX_POOL_OWNER_WORKERS + 1) / 32);

/** The shared table, created once per node and handed to each worker. */
export function createPoolOwners(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (POOL_OWNER_SLOTS + DEAD_WORDS));
}

/** Records that `worker` died (main, before it tells the other workers). */
export function markWorkerDead(shared: SharedArrayBuffer, worker: number): void {
  Atomics.or(new Int32Array(shared), POOL_OWNER_SLOTS + (worker >> 5), 1 << (worker & 31));
}

/** A stream counted against its key's slot, until {@link PoolOwners.release}. */
export interface OwnerClaim {
  /** The worker to open the stream on. */
  owner: number;
  slot: number;
}

/** One worker's view of the table. */
export class PoolOwners {
  readonly #words: Int32Array;

  constructor(shared: SharedArrayBuffer, readonly self: number) {
    if (self < 0 || self >= MAX_POOL_OWNER_WORKERS) throw new RangeError(`worker id ${self} out of range`);
    this.#words = new Int32Array(shared);
  }

  /** Counts a new stream for `key` and says which worker carries it (taking the key if it is idle or its owner died). */
  acquire(key: string): OwnerClaim {
    const w = this.#words;
    const slot = slotOf(key, POOL_OWNER_SLOTS);
    for (;;) {
      const v = Atomics.load(w, slot);
      const owner = (v & OWNER_MASK) - 1;
      const take = owner !== this.self && ((v >>> 8) === 0 || this.#dead(owner));
      const next = take ? (this.self + 1) | ONE_STREAM : v + ONE_STREAM;
      if (Atomics.compareExchange(w, slot, v, next) === v) return { owner: (next & OWNER_MASK) - 1, slot };
    }
  }

  /** The claimed stream has ended (call exactly once per claim). */
  release(claim: OwnerClaim): void {
    const w = this.#words;
    for (;;) {
      const v = Atomics.load(w, claim.slot);
      // Another worker took the key from a dead owner: this claim's count went with it.
      if ((v & OWNER_MASK) - 1 !== claim.owner) return;
      if (Atomics.compareExchange(w, claim.slot, v, v - ONE_STREAM) === v) return;
    }
  }

  #dead(worker: number): boolean {
    return worker >= 0 && (Atomics.load(this.#words, POOL_OWNER_SLOTS + (worker >> 5)) & (1 << (worker & 31))) !== 0;
  }

  /** Streams in flight and owner of `key`'s slot (owner -1: never taken). For tests and admin. */
  peek(key: string): { owner: number; inFlight: number } {
    const v = Atomics.load(this.#words, slotOf(key, POOL_OWNER_SLOTS));
    return { owner: (v & OWNER_MASK) - 1, inFlight: v >>> 8 };
  }
}

/** FNV-1a of `key`, modulo `n`. */
export function slotOf(key: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}
