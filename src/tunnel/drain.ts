/**
 * Drain: one signal that stops accepting, lets tracked connections finish, and force-closes what
 * remains at the termination deadline (ztunnel's `drain.rs`, default deadline 5 s).
 *
 * @example
 * ```ts
 * const drain = new Drain();
 * const done = drain.track(socket, () => socket.destroy()); // call done() when it closes
 * drain.onStart(() => server.close());
 * const { forced } = await drain.start(5000);
 * ```
 *
 * @module
 */

export const DEFAULT_TERMINATION_DEADLINE_MS = 5000;

export interface DrainResult {
  /** Connections still open at the deadline and force-closed. */
  forced: number;
  /** Milliseconds the drain took. */
  tookMs: number;
}

export class Drain {
  #next = 0;
  readonly #open = new Map<number, () => void>();
  readonly #onStart: (() => void)[] = [];
  #idle: (() => void) | undefined;
  #started = false;

  get draining(): boolean {
    return this.#started;
  }

  get open(): number {
    return this.#open.size;
  }

  /** Registers something to stop when the drain starts (e.g. closing a listener). */
  onStart(fn: () => void): void {
    if (this.#started) fn();
    else this.#onStart.push(fn);
  }

  /** Tracks an open connection; `forceClose` runs at the deadline. Returns the release function. */
  track(forceClose: () => void): () => void {
    const id = this.#next++;
    this.#open.set(id, forceClose);
    return () => {
      if (this.#open.delete(id) && this.#open.size === 0) this.#idle?.();
    };
  }

  /** Starts draining (idempotent in effect) and resolves when idle or forced at `deadlineMs`. */
  start(deadlineMs = DEFAULT_TERMINATION_DEADLINE_MS): Promise<DrainResult> {
    const t0 = Date.now();
    if (!this.#started) {
      this.#started = true;
      for (const fn of this.#onStart.splice(0)) {
        try {
          fn();
        } catch { /* a listener already closed */ }
      }
    }
    return new Promise((resolve) => {
      if (this.#open.size === 0) {
        return resolve({ forced: 0, tookMs: Date.now() - t0 });
      }
      const timer = setTimeout(() => {
        this.#idle = undefined;
        const rest = [...this.#open.values()];
        this.#open.clear();
        for (const f of rest) {
          try {
            f();
          } catch { /* already closed */ }
        }
        resolve({ forced: rest.length, tookMs: Date.now() - t0 });
      }, deadlineMs);
      this.#idle = () => {
        clearTimeout(timer);
        this.#idle = undefined;
        resolve({ forced: 0, tookMs: Date.now() - t0 });
      };
    });
  }
}
