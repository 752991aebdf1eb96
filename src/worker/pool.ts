/**
 * Main's view of its workers: spawns them, hands out listener ports, runs the watchdog (Envoy's
 * names and defaults: a worker silent for 200 ms counts `server.worker_N.watchdog_miss`, 1 s
 * `watchdog_mega_miss`), merges their flushes into the stats store and into one connection table.
 *
 * @module
 */
import type { ConnectionInfo, QueueStats, TaskInfo, WorkerInfo } from "../admin/wire.ts";
import type { StatsDelta } from "../stats/scope.ts";
import type { StatsStore } from "../stats/store.ts";
import type { BoundListener, DrainOptions, InitOptions, MainToWorker, UpdateResult, WorkerReport, WorkerToMain } from "./messages.ts";
import { sharedNow } from "./messages.ts";
import { newWorker } from "../runtime/mod.ts";

export interface WatchdogConfig {
  missTimeoutMs: number;
  megamissTimeoutMs: number;
  /** A worker silent this long is terminated and replaced; 0 = off (Envoy's default). */
  killTimeoutMs: number;
  /** Envoy's multikill: this many ms of silence from enough workers at once ends the process; 0 or absent = off. */
  multikillTimeoutMs?: number;
  /** Percent of the workers that must be silent at once (at least 2, as Envoy counts); default 0. */
  multikillThresholdPercent?: number;
}

export interface PoolOptions {
  count: number;
  /** URL (or path) of the worker entry file. */
  entry: string | URL;
  flushIntervalMs: number;
  instrumentation: boolean;
  testHooks: boolean;
  watchdog: WatchdogConfig;
  stats: StatsStore;
  /** The mode payload each worker starts with. */
  payload: () => unknown;
  /** Called after every worker flush has been merged. */
  onFlush?: (workerId: number) => void;
  log: (line: string) => void;
  /** A worker slot was emptied (before its replacement starts). */
  onWorkerReplaced?: (workerId: number) => void;
  /** The multikill fired: the process must end (Envoy aborts). Needed when `multikillTimeoutMs` is set. */
  onMultikill?: (reason: string) => void;
  /**
   * Start a new worker in the slot of one that died or hung (default true, the proxy). The tunnel
   * says false, as ztunnel has no worker restarts: the survivors take over its pool keys.
   */
  replaceFailedWorkers?: boolean;
  /** A worker died and was not replaced (after its connections and gauges were taken back). */
  onWorkerDied?: (workerId: number) => void;
  /** Give every pair of workers a MessageChannel once all have started (`WorkerMode.connectPeers`). */
  peerChannels?: boolean;
}

interface Slot {
  id: number;
  worker: Worker;
  status: "starting" | "running" | "draining" | "drained" | "dead";
  generation: number;
  report: WorkerReport | null;
  lastPongAt: number;
  lastMissAlertAt: number;
  lastMegaMissAlertAt: number;
  miss: number;
  megaMiss: number;
  /** Unacknowledged messages, oldest first: [seq, sentAt]. */
  inflight: [number, number][];
  connections: Map<string, ConnectionInfo>;
  prevRequests: number;
  prevReportAt: number;
  requestsPerSec: number;
  onReady: ((l: BoundListener[]) => void) | null;
  onFail: ((e: Error) => void) | null;
  onDrained: (() => void) | null;
  flushWaiters: (() => void)[];
  /** Broadcasts waiting for this worker's answer, by snapshot version. */
  updateWaiters: Map<string, (r: UpdateResult) => void>;
  /** What this worker added to each gauge, taken back if it dies. */
  gaugeShare: Map<string, number>;
  /** Messages ever posted to this worker. */
  posted: number;
}

const PING_INTERVAL_MS = 50;

export class WorkerPool {
  private slots: Slot[] = [];
  private seq = 0;
  private watchdogTimer: ReturnType<typeof setInterval> | null = null;
  private resolvedPorts: Record<string, number> = {};
  private stopping = false;
  listeners: BoundListener[] = [];

  constructor(readonly options: PoolOptions) {}

  get size(): number {
    return this.slots.length;
  }

  /**
   * Start every worker and wait until each has bound its listeners. The first worker binds first so
   * listeners configured with port 0 get one real port, which the others then share (SO_REUSEPORT).
   */
  async start(): Promise<BoundListener[]> {
    const first = await this.spawn(0, 0);
    this.resolvedPorts = Object.fromEntries(first.map((l) => [l.name, l.port]));
    const rest = [];
    for (let i = 1; i < this.options.count; i++) rest.push(this.spawn(i, 0));
    await Promise.all(rest);
    this.listeners = first;
    if (this.options.peerChannels) this.connectPeers();
    this.watchdogTimer = setInterval(() => this.watchdogStep(), PING_INTERVAL_MS);
    return first;
  }

  /** A MessageChannel between every pair of workers; each worker gets its ends by peer id. */
  private connectPeers(): void {
    const ports: Record<number, MessagePort>[] = this.slots.map(() => ({}));
    for (let i = 0; i < this.slots.length; i++) {
      for (let j = i + 1; j < this.slots.length; j++) {
        const channel = new MessageChannel();
        ports[i]![j] = channel.port1;
        ports[j]![i] = channel.port2;
      }
    }
    this.slots.forEach((slot, i) => this.post(slot, { type: "peers", ports: ports[i]! }, Object.values(ports[i]!)));
  }

  /** Ports resolved for listeners configured with port 0 (reloads add theirs). */
  setResolvedPort(listener: string, port: number): void {
    this.resolvedPorts[listener] = port;
  }

  private spawn(id: number, generation: number): Promise<BoundListener[]> {
    const worker = newWorker(this.options.entry, `worker_${id}`);
    const now = sharedNow();
    const slot: Slot = {
      id,
      worker,
      status: "starting",
      generation,
      report: null,
      lastPongAt: now,
      lastMissAlertAt: 0,
      lastMegaMissAlertAt: 0,
      miss: 0,
      megaMiss: 0,
      inflight: [],
      connections: new Map(),
      prevRequests: 0,
      prevReportAt: now,
      requestsPerSec: 0,
      onReady: null,
      onFail: null,
      onDrained: null,
      flushWaiters: [],
      updateWaiters: new Map(),
      gaugeShare: new Map(),
      posted: 0,
    };
    this.slots[id] = slot;
    const stats = this.options.stats;
    stats.addCounter(`server.worker_${id}.watchdog_miss`, 0);
    stats.addCounter(`server.worker_${id}.watchdog_mega_miss`, 0);
    worker.onmessage = (e: MessageEvent<WorkerToMain>) => this.onMessage(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      const message = e.message || "worker failed";
      if (slot.status === "starting" && generation === 0) {
        slot.status = "dead";
        slot.onFail?.(new Error(`worker ${id}: ${message}`));
        return;
      }
      this.replace(slot, `failed: ${message}`);
    };
    const init: InitOptions = {
      workerId: id,
      flushIntervalMs: this.options.flushIntervalMs,
      instrumentation: this.options.instrumentation,
      testHooks: this.options.testHooks,
      payload: this.options.payload(),
      resolvedPorts: { ...this.resolvedPorts },
    };
    return new Promise((resolve, reject) => {
      slot.onReady = resolve;
      slot.onFail = reject;
      this.post(slot, { type: "init", init });
    });
  }

  private post(slot: Slot, m: DistributiveOmit<MainToWorker, "seq" | "sentAt">, transfer: Transferable[] = []): void {
    const seq = ++this.seq;
    const sentAt = sharedNow();
    slot.inflight.push([seq, sentAt]);
    slot.posted++;
    slot.worker.postMessage({ ...m, seq, sentAt } as MainToWorker, transfer);
  }

  private ack(slot: Slot, seq: number): void {
    const i = slot.inflight.findIndex(([s]) => s === seq);
    if (i >= 0) slot.inflight.splice(0, i + 1);
  }

  private onMessage(slot: Slot, m: WorkerToMain): void {
    if (slot.status === "dead") return;
    switch (m.type) {
      case "ack":
        this.ack(slot, m.seq);
        return;
      case "pong":
        this.ack(slot, m.seq);
        slot.lastPongAt = sharedNow();
        return;
      case "ready":
        slot.status = "running";
        slot.onReady?.(m.listeners);
        slot.onReady = slot.onFail = null;
        return;
      case "startup_error":
        slot.status = "dead";
        slot.onFail?.(new Error(m.message));
        slot.onReady = slot.onFail = null;
        return;
      case "flush":
        this.mergeFlush(slot, m.stats, m.report);
        return;
      case "drained":
        slot.status = "drained";
        slot.onDrained?.();
        return;
      case "updated":
        if (slot.id === 0) this.listeners = m.listeners;
        slot.updateWaiters.get(m.version)?.({ listeners: m.listeners, errors: m.errors });
        slot.updateWaiters.delete(m.version);
        return;
    }
  }

  private mergeFlush(slot: Slot, stats: StatsDelta, report: WorkerReport): void {
    if (slot.status === "dead") return;
    this.options.stats.apply(stats);
    // A removed stat is gone from the store whoever had a share of it, so no slot may take a share
    // back later (a dead worker's gauges are subtracted by name).
    for (const name of stats.removed ?? []) for (const s of this.slots) s.gaugeShare.delete(name);
    for (const [name, d] of stats.gauges) slot.gaugeShare.set(name, (slot.gaugeShare.get(name) ?? 0) + d);
    for (const c of report.connChanged) slot.connections.set(c.id, c);
    for (const id of report.connClosed) slot.connections.delete(id);
    const now = sharedNow();
    const dt = Math.max(1, now - slot.prevReportAt);
    slot.requestsPerSec = Math.round(((report.totalRequests - slot.prevRequests) * 1000) / dt);
    slot.prevRequests = report.totalRequests;
    slot.prevReportAt = now;
    slot.report = report;
    this.options.onFlush?.(slot.id);
    for (const w of slot.flushWaiters.splice(0)) w();
  }

  /**
   * A worker died or hung: terminate it and start a new one in its slot on the same listeners. Its
   * connections are lost; they are counted from main's table as of the worker's last flush.
   */
  private replace(slot: Slot, why: string): void {
    if (this.stopping || slot.status === "dead") return;
    slot.status = "dead";
    slot.worker.terminate();
    const lost = slot.connections.size;
    slot.connections.clear();
    const stats = this.options.stats;
    stats.addCounter("server.worker_connections_lost", lost);
    // Its gauges die with it: take back what it had added (its share of *_active).
    for (const [name, v] of slot.gaugeShare) stats.gauges.set(name, (stats.gauges.get(name) ?? 0) - v);
    slot.gaugeShare.clear();
    // A broadcast does not wait for an answer that will never come.
    for (const resolve of slot.updateWaiters.values()) resolve({ listeners: [], errors: [] });
    slot.updateWaiters.clear();
    for (const w of slot.flushWaiters.splice(0)) w();
    if (this.options.replaceFailedWorkers === false) {
      this.options.log(`worker ${slot.id} ${why}; not replaced; ${lost} connections lost`);
      this.options.onWorkerDied?.(slot.id);
      for (const other of this.slots) {
        if (other.status === "running" || other.status === "draining") this.post(other, { type: "peer_gone", worker: slot.id });
      }
      return;
    }
    stats.addCounter("server.worker_restarts");
    stats.addCounter(`server.worker_${slot.id}.restarts`);
    this.options.onWorkerReplaced?.(slot.id);
    this.options.log(`worker ${slot.id} ${why}; replacing it (generation ${slot.generation + 1}); ${lost} connections lost`);
    this.spawn(slot.id, slot.generation + 1).catch((e) => this.options.log(`worker ${slot.id} could not be replaced: ${e}`));
  }

  private watchdogStep(): void {
    const now = sharedNow();
    const { missTimeoutMs, megamissTimeoutMs } = this.options.watchdog;
    const stats = this.options.stats;
    const { multikillTimeoutMs = 0, multikillThresholdPercent = 0 } = this.options.watchdog;
    let pastMultikill = 0;
    for (const slot of this.slots) {
      if (slot.status !== "running" && slot.status !== "draining") continue;
      const silent = now - slot.lastPongAt;
      if (multikillTimeoutMs > 0 && silent > multikillTimeoutMs) pastMultikill++;
      if (silent > missTimeoutMs && now - slot.lastMissAlertAt > missTimeoutMs) {
        slot.miss++;
        slot.lastMissAlertAt = now;
        stats.addCounter(`server.worker_${slot.id}.watchdog_miss`);
        stats.addCounter("server.watchdog_miss");
      }
      if (silent > megamissTimeoutMs && now - slot.lastMegaMissAlertAt > megamissTimeoutMs) {
        slot.megaMiss++;
        slot.lastMegaMissAlertAt = now;
        stats.addCounter(`server.worker_${slot.id}.watchdog_mega_miss`);
        stats.addCounter("server.watchdog_mega_miss");
      }
      const kill = this.options.watchdog.killTimeoutMs;
      if (kill > 0 && silent > kill) {
        stats.addCounter("server.watchdog_kill");
        this.replace(slot, `missed the watchdog for ${Math.round(silent)} ms (kill_timeout ${kill} ms)`);
        continue;
      }
      this.post(slot, { type: "ping" });
    }
    // Envoy's GuardDogImpl: max(2, ceil(fraction × watched threads)) stuck at once.
    const required = Math.max(2, Math.ceil(multikillThresholdPercent / 100 * this.slots.length));
    const onMultikill = this.options.onMultikill;
    if (onMultikill !== undefined && multikillTimeoutMs > 0 && pastMultikill >= required && !this.stopping) {
      this.stopping = true;
      clearInterval(this.watchdogTimer ?? undefined);
      onMultikill(
        `watchdog: ${pastMultikill} of ${this.slots.length} workers silent for over ${multikillTimeoutMs} ms (multikill_timeout, threshold ${required}); exiting`,
      );
    }
  }

  /** Test hook: make worker `id` throw from its event loop. */
  crash(id: number): boolean {
    const slot = this.slots[id];
    if (!slot || slot.status === "dead" || !this.options.testHooks) return false;
    this.post(slot, { type: "crash" });
    return true;
  }

  /**
   * Post a new snapshot to every worker (Envoy's thread-local slot update); resolves with what each
   * worker reports having applied (a worker that dies meanwhile is skipped).
   */
  broadcast(payload: unknown, version: string): Promise<UpdateResult[]> {
    const waits: Promise<UpdateResult>[] = [];
    for (const slot of this.slots) {
      if (slot.status !== "running") continue;
      waits.push(new Promise((resolve) => {
        slot.updateWaiters.set(version, resolve);
        this.post(slot, { type: "update", payload, version });
      }));
    }
    return Promise.all(waits);
  }

  /**
   * Ask every running worker to flush now and wait for the flushes (at most `timeoutMs`), so an
   * admin read shows figures as of this moment rather than as of the last interval.
   */
  flushNow(timeoutMs = 250): Promise<void> {
    const waits = this.slots.filter((s) => s.status === "running" || s.status === "draining").map((slot) =>
      new Promise<void>((resolve) => {
        slot.flushWaiters.push(resolve);
        this.post(slot, { type: "flush" });
      })
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      Promise.all(waits).then(() => undefined),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  /** Test hook: hold worker `id`'s loop for `ms`. */
  block(id: number, ms: number): boolean {
    const slot = this.slots[id];
    if (!slot || !this.options.testHooks) return false;
    this.post(slot, { type: "block", ms });
    return true;
  }

  /** Ask every worker to drain; resolves when all have, or a second after the deadline. */
  async drain(options: DrainOptions): Promise<void> {
    const waits = this.slots.filter((s) => s.status === "running").map((slot) =>
      new Promise<void>((resolve) => {
        slot.status = "draining";
        slot.onDrained = resolve;
        this.post(slot, { type: "drain", options });
      })
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((r) => (timer = setTimeout(r, options.deadlineMs + 1000))),
    ]);
    clearTimeout(timer);
  }

  terminate(): void {
    this.stopping = true;
    if (this.watchdogTimer !== null) clearInterval(this.watchdogTimer);
    this.watchdogTimer = null;
    for (const slot of this.slots) {
      slot.worker.terminate();
      slot.status = "dead";
    }
  }

  workers(): WorkerInfo[] {
    const now = sharedNow();
    return this.slots.map((slot) => {
      const r = slot.report;
      const silent = now - slot.lastPongAt;
      const status = slot.status === "running" && silent > this.options.watchdog.missTimeoutMs ? "blocked" : slot.status;
      return {
        id: slot.id,
        status,
        generation: slot.generation,
        loop: r?.loop ?? emptyLoop(),
        queues: [this.inboundQueue(slot, now), ...(r?.queues ?? [])],
        inflightTasks: slot.status === "dead" ? 0 : r?.tasksTotal ?? 0,
        openConnections: slot.connections.size,
        totalConnections: r?.totalConnections ?? 0,
        totalRequests: r?.totalRequests ?? 0,
        requestsPerSec: slot.requestsPerSec,
        watchdogMiss: slot.miss,
        watchdogMegaMiss: slot.megaMiss,
        lastPongMs: Math.round(silent),
        dropped: r?.dropped ?? 0,
      };
    });
  }

  private inboundQueue(slot: Slot, now: number): QueueStats {
    const oldest = slot.inflight[0];
    return {
      name: "main→worker",
      worker: slot.id,
      depth: slot.inflight.length,
      oldestWaitMs: oldest ? Math.round(now - oldest[1]) : 0,
      total: slot.posted,
      dropped: 0,
    };
  }

  /** The merged connection table, optionally of one worker, with ages as of now. */
  connections(worker?: number): ConnectionInfo[] {
    const now = Date.now();
    const out: ConnectionInfo[] = [];
    for (const slot of this.slots) {
      if (worker !== undefined && slot.id !== worker) continue;
      for (const c of slot.connections.values()) {
        out.push({ ...c, ageMs: now - c.openedAt, idleMs: now - c.lastActivityAt });
      }
    }
    return out;
  }

  /** In-flight tasks of the live workers (a dead one's tasks died with it). */
  tasks(): TaskInfo[] {
    return this.live().flatMap((s) => s.report?.tasks ?? []);
  }

  tasksTotal(): number {
    return this.live().reduce((n, s) => n + (s.report?.tasksTotal ?? 0), 0);
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s.status !== "dead");
  }

  queues(): QueueStats[] {
    const now = sharedNow();
    return this.slots.flatMap((s) => [this.inboundQueue(s, now), ...(s.report?.queues ?? [])]);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function emptyLoop() {
  return {
    lagP50Ms: 0,
    lagP99Ms: 0,
    lagMaxMs: 0,
    busy: 0,
    samplesPerSec: 0,
    lagHistory: [],
    lagHistogram: [],
    lagBucketsMs: [],
  };
}
