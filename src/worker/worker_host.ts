/**
 * The worker side of the main↔worker protocol, shared by the proxy and the tunnel: answers the
 * watchdog, acknowledges messages, flushes stats and the dispatcher report on the flush interval,
 * and runs the test hooks. A mode plugs in with {@linkcode WorkerMode}.
 *
 * @module
 */
import { Dispatcher } from "./dispatcher.ts";
import type { BoundListener, DrainOptions, InitOptions, MainToWorker, UpdateResult, WorkerToMain } from "./messages.ts";

/** What a data-plane mode does inside a worker. */
export interface WorkerMode {
  /** Bind listeners and start serving; return the bound addresses. Throwing fails startup. */
  start(init: InitOptions, dispatcher: Dispatcher): Promise<BoundListener[]>;
  /**
   * A new snapshot from main (config reload, DNS results), applied between requests. Returns the
   * listeners bound after it, and what could not be applied (a new listener that cannot bind).
   */
  update(payload: unknown, version: string): Promise<UpdateResult>;
  /** Stop accepting and finish in-flight work as `options` says; resolve when no connection is left. */
  drain(options: DrainOptions): Promise<void>;
  /** Bring derived figures up to date (rows the mode mirrors from elsewhere) just before a flush. */
  beforeFlush?(): void;
  /** Ports to the other workers of the pool (only with `peerChannels`), by worker id. */
  connectPeers?(ports: Record<number, MessagePort>): void;
  /** A worker that will not be replaced died: stop sending to it. */
  peerGone?(worker: number): void;
}

interface WorkerScope {
  postMessage(m: WorkerToMain): void;
  onmessage: ((e: MessageEvent<MainToWorker>) => void) | null;
  close?: () => void;
}

/**
 * Run `mode` in this worker. Call once, synchronously, from the worker entry file: the message
 * handler must be in place before main's first message arrives, so the mode may still be loading.
 */
export function hostWorker(modeLoading: Promise<WorkerMode>): void {
  const scope = globalThis as unknown as WorkerScope;
  let mode!: WorkerMode;
  // Messages other than pings are handled in order, after the mode has loaded.
  let chain: Promise<void> = modeLoading.then((m) => {
    mode = m;
  });
  const post = (m: WorkerToMain) => scope.postMessage(m);
  let dispatcher: Dispatcher | null = null;
  let workerId = -1;

  /** `periodic`: the flush interval's, which closes the loop sampler's interval; admin reads' are not. */
  const flush = (periodic = false) => {
    if (dispatcher === null) return;
    mode.beforeFlush?.();
    post({ type: "flush", workerId, stats: dispatcher.stats.takeDelta(), report: dispatcher.report(periodic) });
  };

  scope.onmessage = (e) => {
    const m = e.data;
    if (m.type === "ping") {
      post({ type: "pong", seq: m.seq });
      return;
    }
    chain = chain.then(() => handle(m), (err) => {
      post({ type: "startup_error", workerId, message: err instanceof Error ? err.message : String(err) });
    });
  };

  const handle = (m: MainToWorker) => {
    switch (m.type) {
      case "ping":
        return;
      case "init": {
        post({ type: "ack", seq: m.seq });
        workerId = m.init.workerId;
        dispatcher = new Dispatcher(workerId, { instrumentation: m.init.instrumentation });
        dispatcher.loop.start();
        const testHooks = m.init.testHooks;
        hooksEnabled = testHooks;
        mode.start(m.init, dispatcher).then(
          (listeners) => {
            post({ type: "ready", workerId, listeners });
            setInterval(() => flush(true), m.init.flushIntervalMs);
          },
          (err) => post({ type: "startup_error", workerId, message: err instanceof Error ? err.message : String(err) }),
        );
        return;
      }
      case "flush":
        post({ type: "ack", seq: m.seq });
        flush();
        return;
      case "update":
        post({ type: "ack", seq: m.seq });
        return mode.update(m.payload, m.version).then((r) => {
          post({ type: "updated", workerId, version: m.version, ...r });
        });
      case "drain":
        post({ type: "ack", seq: m.seq });
        mode.drain(m.options).then(() => {
          flush();
          post({ type: "drained", workerId });
        });
        return;
      case "block": {
        post({ type: "ack", seq: m.seq });
        if (!hooksEnabled) return;
        // Test hook: hold the event loop, as a runaway handler would.
        const until = performance.now() + m.ms;
        while (performance.now() < until) { /* busy */ }
        return;
      }
      case "peers":
        post({ type: "ack", seq: m.seq });
        mode.connectPeers?.(m.ports);
        return;
      case "peer_gone":
        post({ type: "ack", seq: m.seq });
        mode.peerGone?.(m.worker);
        return;
      case "crash":
        post({ type: "ack", seq: m.seq });
        if (!hooksEnabled) return;
        setTimeout(() => {
          throw new Error("crash requested by test hook");
        });
        return;
    }
  };
}

let hooksEnabled = false;
