/**
 * The proxy inside one worker: binds every listener with SO_REUSEPORT, owns the connections the
 * kernel hands it, applies new snapshots between requests, and drains on request.
 *
 * @module
 */
import type { Listener } from "../config/types.ts";
import type { Runtime, TcpListener } from "../runtime/types.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { BoundListener, InitOptions } from "../worker/messages.ts";
import type { WorkerMode } from "../worker/worker_host.ts";
import { ClusterRuntime } from "./cluster.ts";
import type { WorkerContext } from "./context.ts";
import { DownstreamConnection, type DownstreamHost } from "./downstream.ts";
import { type ListenerSlot, ListenerRuntime, ListenerStats, listenerStatPrefix } from "./listener.ts";
import type { EdgeSnapshot } from "./snapshot.ts";

interface BoundSlot {
  slot: ListenerSlot;
  tcp: TcpListener;
}

export class EdgeWorker implements WorkerMode, DownstreamHost {
  ctx!: WorkerContext;
  clusters = new Map<string, ClusterRuntime>();
  private listeners = new Map<string, BoundSlot>();
  private open = new Set<DownstreamConnection>();
  private onEmpty: (() => void) | null = null;

  constructor(private runtime: Runtime) {}

  async start(init: InitOptions, dispatcher: Dispatcher): Promise<BoundListener[]> {
    this.ctx = { runtime: this.runtime, dispatcher, workerId: init.workerId, draining: false };
    const snap = init.payload as EdgeSnapshot;
    this.applyClusters(snap);
    const bound: BoundListener[] = [];
    for (const l of snap.bootstrap.listeners) {
      const port = l.address.port === 0 ? init.resolvedPorts[l.name] ?? 0 : l.address.port;
      bound.push(await this.bind(l, port));
    }
    return bound;
  }

  private async bind(config: Listener, port: number): Promise<BoundListener> {
    const scope = this.ctx.dispatcher.stats;
    let slot: ListenerSlot | null = null;
    let tcp: TcpListener;
    try {
      tcp = await this.runtime.listenTcp({ hostname: config.address.address, port, reusePort: true }, (socket) => {
        const conn = new DownstreamConnection(socket, slot!, this);
        this.open.add(conn);
        return conn;
      });
    } catch (e) {
      throw new Error(`listener "${config.name}" cannot bind ${config.address.address}:${port}: ${e instanceof Error ? e.message : e}`);
    }
    slot = {
      current: new ListenerRuntime(config, scope),
      stats: new ListenerStats(scope, listenerStatPrefix(config.address.address, tcp.port), this.ctx.workerId),
    };
    this.listeners.set(config.name, { slot, tcp });
    return { name: config.name, hostname: tcp.hostname, port: tcp.port };
  }

  private applyClusters(snap: EdgeSnapshot): void {
    const next = new Map<string, ClusterRuntime>();
    for (const c of snap.bootstrap.clusters) {
      const endpoints = snap.endpoints[c.name] ?? c.endpoints;
      const existing = this.clusters.get(c.name);
      if (existing !== undefined && JSON.stringify(existing.config) === JSON.stringify(c)) {
        existing.setEndpoints(endpoints);
        next.set(c.name, existing);
      } else {
        existing?.closeIdle();
        next.set(c.name, new ClusterRuntime(this.ctx, c, endpoints));
      }
    }
    for (const [name, old] of this.clusters) if (!next.has(name)) old.closeIdle();
    this.clusters = next;
  }

  update(payload: unknown): void {
    const snap = payload as EdgeSnapshot;
    this.applyClusters(snap);
    const scope = this.ctx.dispatcher.stats;
    for (const l of snap.bootstrap.listeners) {
      const bound = this.listeners.get(l.name);
      // New requests on existing connections pick up the new routes; listener add/remove is lifecycle work.
      if (bound !== undefined) bound.slot.current = new ListenerRuntime(l, scope);
    }
  }

  onConnectionClosed(conn: DownstreamConnection): void {
    this.open.delete(conn);
    if (this.open.size === 0) this.onEmpty?.();
  }

  drain(deadlineMs: number): Promise<void> {
    this.ctx.draining = true;
    for (const { tcp } of this.listeners.values()) tcp.close();
    for (const conn of [...this.open]) conn.closeWhenIdle();
    for (const c of this.clusters.values()) c.closeIdle();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const c of this.clusters.values()) c.closeIdle();
        resolve();
      };
      const timer = setTimeout(() => {
        for (const conn of [...this.open]) conn.socket.destroy();
        done();
      }, deadlineMs);
      if (this.open.size === 0) done();
      else this.onEmpty = done;
    });
  }
}
