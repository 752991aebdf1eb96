/**
 * The one interface both the live admin stream and a replayed recording sit behind, and the events
 * they deliver. The reducer consumes these events as actions; nothing in here knows about Ink.
 *
 * @module
 */

import type { Snapshot } from "../../src/admin/wire.ts";

/**
 * Where the inspector's data comes from right now (tokio-console's `conn.rs` states, plus replay).
 * `reconnecting` carries `retryAt` so the header can draw "reconnecting in N s" itself.
 */
export type ConnState =
  | { readonly kind: "connecting"; readonly url: string; readonly attempt: number }
  | { readonly kind: "connected"; readonly url: string; readonly since: number }
  | {
    readonly kind: "reconnecting";
    readonly url: string;
    readonly attempt: number;
    readonly delayMs: number;
    readonly retryAt: number;
    readonly error: string;
  }
  | {
    readonly kind: "replay";
    readonly file: string;
    /** Index of the frame shown (0-based) and how many frames the recording holds. */
    readonly index: number;
    readonly total: number;
    readonly playing: boolean;
  };

/** What a source delivers. Every event is also a reducer action. */
export type SourceEvent =
  | { readonly type: "snapshot"; readonly snapshot: Snapshot }
  /** Replay stepped backwards: forget derived history and rebuild it from these frames, oldest first. */
  | { readonly type: "rewind"; readonly snapshots: readonly Snapshot[] }
  | { readonly type: "conn"; readonly conn: ConnState };

/** Commands a source may honour: the replay source pauses and steps; the live source ignores them. */
export type SourceCommand = "toggle-pause" | "step-forward" | "step-back";

export type SourceListener = (event: SourceEvent) => void;

/**
 * A stream of snapshots and connection states. It starts on the first `subscribe`; a later subscriber
 * is first handed the current connection state and the latest snapshot, so nobody misses the start.
 */
export interface SnapshotSource {
  readonly kind: "live" | "replay";
  /** The admin URL or the recording's path, for the header. */
  readonly description: string;
  subscribe(listener: SourceListener): () => void;
  control(command: SourceCommand): void;
  /** Stops the source and resolves once its timers and sockets are released. */
  close(): Promise<void>;
}

/**
 * Fan-out with memory of the latest connection state and snapshot (a "behaviour subject").
 *
 * @example Emit and subscribe late
 * ```ts
 * const hub = createHub(() => {});
 * hub.emit({ type: "conn", conn: { kind: "connecting", url: "http://x", attempt: 0 } });
 * hub.subscribe((e) => console.log(e.type)); // logs "conn" at once
 * ```
 */
export function createHub(onFirstSubscribe: () => void): {
  emit(event: SourceEvent): void;
  subscribe(listener: SourceListener): () => void;
} {
  const listeners = new Set<SourceListener>();
  let started = false;
  let conn: SourceEvent | undefined;
  let last: SourceEvent | undefined;
  return {
    emit(event) {
      if (event.type === "conn") conn = event;
      else if (event.type === "snapshot") last = event;
      else {
        const latest = event.snapshots.at(-1);
        last = latest ? { type: "snapshot", snapshot: latest } : undefined;
      }
      for (const l of [...listeners]) l(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      if (conn) listener(conn);
      if (last) listener(last);
      if (!started) {
        started = true;
        onFirstSubscribe();
      }
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
