/**
 * The composition root of `weft tunnel serve` (ztunnel's `app.rs`), beside the proxy's and in the
 * same shape (see `README.md` beside this file): {@link startTunnel} is a short sequence of named
 * steps around one {@link TunnelMain}. It loads the local config and the CA, mints the hosted
 * workloads' certificates, binds admin (15000, on 127.0.0.1 unless told otherwise, as ztunnel),
 * metrics (15020) and readiness (15021) on the main thread, starts the data-plane workers on the
 * shared worker runtime (`src/worker/`) and waits until every listener of every worker is bound,
 * so bind errors fail startup. It returns the real bound addresses, so tests can ask for port 0.
 * Reloads on demand (SIGHUP is wired by the command) and on file change; drains on demand.
 *
 * @example
 * ```ts
 * const app = await startTunnel({ configPath: "local.yaml", node: "node-a", bind: "127.0.0.2", caDir: "./ca" });
 * app.addresses.socks5; // "127.0.0.2:15080"
 * await app.drain();
 * ```
 *
 * @module
 */

import type http from "node:http";
import { watch } from "node:fs";
import { basename, dirname } from "node:path";
import process from "node:process";
import { EventHub } from "../admin/event_stream.ts";
import { AdminRegistry, json, text } from "../admin/registry.ts";
import type { ServerInfo, ServerState, Snapshot } from "../admin/wire.ts";
import { registerCrashWorkerHook } from "../lifecycle/admin.ts";
import { currentRuntime, workerEntry } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { registerStatsAdmin } from "../stats/admin.ts";
import { StatsStore } from "../stats/store.ts";
import { type CertificateAuthority, loadCa } from "../tls/ca.ts";
import type { LogFormat } from "../tunnel/access_log.ts";
import { CertManager } from "../tunnel/certs.ts";
import { ConfigError, formatIssue, type LocalConfig, loadLocalConfig } from "../tunnel/config.ts";
import { DEFAULT_TERMINATION_DEADLINE_MS, type DrainResult } from "../tunnel/drain.ts";
import { DEFAULT_MAX_STREAMS } from "../tunnel/hbone.ts";
import { type FetchHandler, serveFetch } from "../tunnel/http_serve.ts";
import { renderTunnelPrometheus, tunnelClusters } from "../tunnel/metrics.ts";
import { createPoolOwners, markWorkerDead, MAX_POOL_OWNER_WORKERS } from "../tunnel/pool_owners.ts";
import {
  type CertMap,
  type DataPlaneAddresses,
  dataPlaneAddresses,
  DEFAULT_PORTS,
  type TunnelPayload,
  type TunnelPorts,
  type TunnelUpdate,
} from "../tunnel/protocol.ts";
import { workloadIdentity } from "../tunnel/state.ts";
import { registerWorkerAdmin } from "../worker/admin.ts";
import { WorkerPool } from "../worker/pool.ts";

/** Env variable for the number of data-plane workers (ztunnel's WORKER_THREADS). */
export const WORKER_THREADS_ENV = "WEFT_WORKER_THREADS";
/** ztunnel's documented default of worker threads. */
export const DEFAULT_WORKERS = 2;
/** Where admin listens by default: ztunnel's admin is localhost-only, since it can drain the node. */
export const DEFAULT_ADMIN_ADDRESS = "127.0.0.1";
const FLUSH_INTERVAL_MS = 1000;
/** How long an admin read waits for the workers' flushes (a worker relaying at full speed answers late). */
const FRESH_TIMEOUT_MS = 1000;
/** Envoy's watchdog defaults; the tunnel's workers are never replaced (kill off), as in ztunnel. */
const WATCHDOG = { missTimeoutMs: 200, megamissTimeoutMs: 1000, killTimeoutMs: 0 };
/** How many connections a live snapshot carries (the most recently active). */
const SNAPSHOT_CONNECTIONS = 200;
/** Counted by each worker's drain, read after all have drained. */
const DRAIN_FORCED_CLOSE = "tunnel.drain_forced_close";

export interface TunnelOptions {
  configPath: string;
  node: string;
  /** The node's own address: metrics, readiness and outbound listeners bind here. */
  bind: string;
  /** Where admin (15000) binds; default 127.0.0.1 (ztunnel's localhost). */
  adminAddress?: string;
  /** When set, every admin path requires `Authorization: Bearer <token>` (as `weft proxy serve`). */
  adminToken?: string | null;
  caDir: string;
  /** Data-plane workers; default from WEFT_WORKER_THREADS, else 2. */
  workers?: number;
  logFormat?: LogFormat;
  ports?: Partial<TunnelPorts>;
  terminationDeadlineMs?: number;
  certLifetimeMs?: number;
  /** Reload when the config file changes (default true). */
  watchConfig?: boolean;
  maxStreamsPerConnection?: number;
  /** Connect to workloads from the source workload's IP (default true, as ztunnel). */
  preserveSourceIp?: boolean;
  version?: string;
  /** Test-only admin hooks (`/debug/crash_worker`), as `weft proxy serve --test-hooks`. */
  testHooks?: boolean;
  /** Main-thread log lines (default: stderr). */
  log?: (line: string) => void;
}

export interface TunnelAddresses extends DataPlaneAddresses {
  admin: string;
  metrics: string;
  readiness: string;
}

export interface ReloadResult {
  ok: boolean;
  error?: string;
  workloads?: number;
}

export interface TunnelApp {
  readonly addresses: TunnelAddresses;
  readonly state: ServerState;
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets tunnels finish, force-closes at the deadline, then stops everything. */
  drain(): Promise<DrainResult>;
  /** Resolves once the tunnel has fully stopped. */
  readonly done: Promise<void>;
}

/** Starts a tunnel; resolves once every listener is bound and the tunnel is ready. */
export async function startTunnel(options: TunnelOptions): Promise<TunnelApp> {
  const main = new TunnelMain(await currentRuntime(), options, await loadLocalConfig(options.configPath));
  try {
    await loadCertificates(main);
    await bindMainListeners(main);
    const pool = await startWorkers(main);
    const reload = startConfigUpdates(main, pool);
    const events = startStatsPublishing(main, pool);
    const drain = lifecycleControls(main, pool, events);
    registerAdmin(main, pool, events, reload, drain);
    watchConfigFile(main, reload);
    return reportReady(main, reload, drain);
  } catch (e) {
    await main.stop();
    throw e;
  }
}

/** Re-reads the config file and applies it when valid. */
type Reload = () => Promise<ReloadResult>;

/** How the tunnel stops: a drain, once, then everything stops. */
interface Drain {
  drain(): Promise<DrainResult>;
  done: Promise<void>;
}

/** The live snapshots behind `/events`, and current figures for admin reads. */
interface StatsEvents {
  hub: EventHub<Snapshot>;
  snapshot(dropped: number): Snapshot;
  /** Every worker's flush now (bounded), then main's own gauges. */
  fresh(): Promise<void>;
}

/**
 * What the main thread owns and every step shares: the settings, the running config and how its
 * reloads went, the CA and workload certificates, the stats store, the server's state, the
 * addresses as bound, and what to stop (in reverse order) on drain or a failed start.
 */
class TunnelMain {
  readonly startedAt = Date.now();
  readonly store = new StatsStore();
  state: ServerState = "INITIALIZING";
  readonly workers: number;
  readonly ports: TunnelPorts;
  readonly deadlineMs: number;
  readonly logFormat: LogFormat;
  readonly log: (line: string) => void;
  readonly admin: AdminRegistry;
  configLoadedAt = Date.now();
  lastReloadError: string | undefined;
  ca!: CertificateAuthority;
  certs!: CertManager;
  /** The pool-owner table the workers share (`pool_owners.ts`). */
  readonly poolOwners = createPoolOwners();
  /** Snapshot versions broadcast to the workers. */
  version = 0;
  readonly addresses = {} as TunnelAddresses;
  /** The main thread's listeners, which a workload must never reach through the data plane. */
  mainListeners: string[] = [];
  /** Set once the workers run; the metrics listener answers 503 before. */
  metrics: (() => Promise<Response>) | null = null;
  /** Set once the workers run: a rotation is broadcast to them. */
  onCertificatesRotated: ((certs: CertMap) => void) | null = null;
  readonly #stopFns: (() => void | Promise<void>)[] = [];

  constructor(readonly runtime: Runtime, readonly options: TunnelOptions, public config: LocalConfig) {
    this.workers = options.workers ?? (Number(process.env[WORKER_THREADS_ENV]) || DEFAULT_WORKERS);
    if (!Number.isInteger(this.workers) || this.workers < 1 || this.workers > MAX_POOL_OWNER_WORKERS) {
      throw new Error(`Cannot start tunnel: workers must be an integer from 1 to ${MAX_POOL_OWNER_WORKERS}, got ${this.workers}`);
    }
    this.ports = { ...DEFAULT_PORTS, ...options.ports };
    this.deadlineMs = options.terminationDeadlineMs ?? DEFAULT_TERMINATION_DEADLINE_MS;
    this.logFormat = options.logFormat ?? "text";
    this.log = options.log ?? ((l: string) => process.stderr.write(l + "\n"));
    this.admin = new AdminRegistry({ token: options.adminToken ?? null });
  }

  onStop(fn: () => void | Promise<void>): void {
    this.#stopFns.push(fn);
  }

  async stop(): Promise<void> {
    for (const f of this.#stopFns.splice(0).reverse()) await f();
  }

  /** The identities of the workloads this node hosts: one certificate each. */
  localIdentities(config: LocalConfig): string[] {
    return [...new Set(config.workloads.filter((w) => w.node === this.options.node).map(workloadIdentity))];
  }

  /** What every worker starts with. */
  payload(): TunnelPayload {
    const { options } = this;
    return {
      poolOwners: this.poolOwners,
      node: options.node,
      bindIp: options.bind,
      ports: this.ports,
      config: this.config,
      certs: this.certs.certs,
      caPem: this.certs.caPem,
      logFormat: this.logFormat,
      maxStreamsPerConnection: options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS,
      preserveSourceIp: options.preserveSourceIp ?? true,
      mainListeners: this.mainListeners,
    };
  }

  serverInfo(concurrency: number): ServerInfo {
    return {
      mode: "tunnel",
      version: this.options.version ?? "dev",
      runtime: this.runtime.version,
      state: this.state,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      concurrency,
      pid: this.runtime.pid,
      hotRestartEpoch: 0,
      adminAddress: this.addresses.admin,
      flushIntervalMs: FLUSH_INTERVAL_MS,
    };
  }
}

/** The CA, and a certificate per hosted identity (rotated at half life; a rotation reaches the workers once they run). */
async function loadCertificates(main: TunnelMain): Promise<void> {
  main.ca = await loadCa(main.options.caDir);
  main.certs = new CertManager(main.ca, {
    ...(main.options.certLifetimeMs !== undefined ? { lifetimeMs: main.options.certLifetimeMs } : {}),
    onChange: (certs) => main.onCertificatesRotated?.(certs),
  });
  main.onStop(() => main.certs.stop());
  await main.certs.ensure(main.localIdentities(main.config));
}

/**
 * Admin (15000), metrics (15020), readiness (15021), bound before the workers start so these know
 * every address a workload must never reach through them; admin and metrics answer 503 until the
 * tunnel is up (admin's paths are registered by `registerAdmin`).
 */
async function bindMainListeners(main: TunnelMain): Promise<void> {
  const { options, ports } = main;
  const servers: http.Server[] = [];
  main.onStop(() => closeServers(servers));
  const whenStarted = (handler: FetchHandler): FetchHandler => (req) => main.state === "INITIALIZING" ? text(503, "starting\n") : handler(req);
  const admin = await serveFetch(options.adminAddress ?? DEFAULT_ADMIN_ADDRESS, ports.admin, whenStarted((req) => main.admin.handle(req)));
  servers.push(admin.server);
  const metrics = await serveFetch(options.bind, ports.metrics, whenStarted((req) => {
    const path = new URL(req.url).pathname;
    if ((path === "/metrics" || path === "/stats/prometheus") && main.metrics !== null) return main.metrics();
    return text(404, "try /metrics\n");
  }));
  servers.push(metrics.server);
  const readiness = await serveFetch(options.bind, ports.readiness, (req) => {
    const path = new URL(req.url).pathname;
    if (path !== "/healthz/ready") return text(404, "try /healthz/ready\n");
    return main.state === "LIVE" ? text(200, "ready\n") : text(503, `not ready: ${main.state}\n`);
  });
  servers.push(readiness.server);
  Object.assign(main.addresses, { admin: admin.address, metrics: metrics.address, readiness: readiness.address });
  main.admin.servedAt(admin.address);
  main.mainListeners = [admin.address, metrics.address, readiness.address];
}

function closeServers(servers: http.Server[]): Promise<void> {
  return Promise.all(servers.map((s) =>
    new Promise<void>((r) => {
      s.close(() => r());
      (s as { closeAllConnections?: () => void }).closeAllConnections?.();
    })
  )).then(() => undefined);
}

/**
 * The data-plane workers on the shared worker runtime (`src/worker/`). Worker 0 binds first and
 * resolves ports of 0; the rest share its ports (reusePort). A dead worker is not replaced: its
 * pool keys go to the survivors, which stop forwarding streams to it.
 */
async function startWorkers(main: TunnelMain): Promise<WorkerPool> {
  const pool = new WorkerPool({
    count: main.workers,
    // workerEntry: also resolves inside a Bun-compiled binary.
    entry: workerEntry("src/tunnel/worker_main.ts"),
    flushIntervalMs: FLUSH_INTERVAL_MS,
    instrumentation: true,
    testHooks: Boolean(main.options.testHooks),
    watchdog: WATCHDOG,
    stats: main.store,
    payload: () => main.payload(),
    log: (line) => main.log(`weft tunnel: ${line}`),
    replaceFailedWorkers: false,
    // Its keys go to the next worker that needs them: its own streams will never be released.
    onWorkerDied: (id) => markWorkerDead(main.poolOwners, id),
    peerChannels: true,
  });
  main.onStop(() => pool.terminate());
  await pool.start();
  Object.assign(main.addresses, dataPlaneAddresses(pool.listeners));
  return pool;
}

/**
 * Certificate rotations and config reloads, each a new snapshot for the workers. A reload is
 * validated on main: a rejected file keeps the running config.
 */
function startConfigUpdates(main: TunnelMain, pool: WorkerPool): Reload {
  const { store, certs, log, options } = main;
  const broadcast = (update: TunnelUpdate) => pool.broadcast(update, String(++main.version));
  main.onCertificatesRotated = (m) => {
    store.addCounter("tunnel.certificate_rotations");
    void broadcast({ certs: m });
    log(`weft tunnel: rotated workload certificates (${Object.keys(m).length})`);
  };
  store.addCounter("server.reload_success", 0);
  store.addCounter("server.reload_rejected", 0);
  store.addCounter("tunnel.certificate_rotations", 0);
  const reject = (error: string, message: string): ReloadResult => {
    store.addCounter("server.reload_rejected");
    main.lastReloadError = error;
    log(`${message}${error}`);
    return { ok: false, error };
  };
  const reloadOnce = async (): Promise<ReloadResult> => {
    if (main.state === "DRAINING") return { ok: false, error: "draining" };
    let next: LocalConfig;
    try {
      next = await loadLocalConfig(options.configPath);
    } catch (e) {
      const error = e instanceof ConfigError ? e.issues.map(formatIssue).join("\n") : (e as Error).message;
      return reject(error, "weft tunnel: config reload rejected, keeping the previous config:\n");
    }
    const certsChanged = await certs.ensure(main.localIdentities(next));
    const results = await broadcast(certsChanged ? { certs: certs.certs, config: next } : { config: next });
    main.config = next;
    main.configLoadedAt = Date.now();
    const applied = results.find((r) => r.listeners.length > 0);
    if (applied) Object.assign(main.addresses, dataPlaneAddresses(applied.listeners));
    const error = results.flatMap((r) => r.errors)[0];
    if (error !== undefined) return reject(error, "weft tunnel: config applied with errors: ");
    store.addCounter("server.reload_success");
    main.lastReloadError = undefined;
    log(`weft tunnel: config reloaded (${next.workloads.length} workloads, ${next.services.length} services, ${next.policies.length} policies)`);
    return { ok: true, workloads: next.workloads.length };
  };
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true });
  return () => (reloading = reloading.then(reloadOnce, reloadOnce));
}

/**
 * Main's figures every flush (server gauges with Envoy's names, and the certificates' state: how
 * many are held and Envoy's `server.days_until_first_cert_expiring`), `/events` snapshots, and
 * ztunnel's `/metrics` from the merged counters.
 */
function startStatsPublishing(main: TunnelMain, pool: WorkerPool): StatsEvents {
  const { store } = main;
  const serverStats = () => {
    store.setGauge("server.live", main.state === "LIVE" ? 1 : 0);
    store.setGauge("server.state", main.state === "LIVE" ? 0 : main.state === "DRAINING" ? 1 : 2);
    store.setGauge("server.uptime", Math.floor((Date.now() - main.startedAt) / 1000));
    store.setGauge("server.concurrency", pool.size);
    store.setGauge("server.total_connections", pool.connections().length);
    store.setGauge("server.memory_physical_size", main.runtime.rss());
    const held = Object.values(main.certs.certs);
    store.setGauge("tunnel.workload_certificates", held.length);
    const firstExpiry = Math.min(...held.map((c) => c.notAfter));
    store.setGauge("server.days_until_first_cert_expiring", held.length ? Math.max(0, Math.floor((firstExpiry - Date.now()) / 86_400_000)) : 0);
  };
  const fresh = async () => {
    await pool.flushNow(FRESH_TIMEOUT_MS);
    serverStats();
  };
  const hub = new EventHub<Snapshot>();
  main.onStop(() => hub.close());
  let seq = 0;
  const snapshot = (dropped: number): Snapshot => {
    const connections = pool.connections();
    connections.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
    return {
      seq: ++seq,
      at: Date.now(),
      server: main.serverInfo(pool.size),
      workers: pool.workers(),
      connections: connections.slice(0, SNAPSHOT_CONNECTIONS),
      connectionsTotal: connections.length,
      tasks: pool.tasks(),
      tasksTotal: pool.tasksTotal(),
      queues: pool.queues(),
      stats: Object.fromEntries(store.values()),
      histograms: store.histogramSummaries(),
      clusters: tunnelClusters(store),
      dropped,
    };
  };
  const tick = setInterval(() => {
    serverStats();
    if (hub.size > 0) hub.publish(snapshot);
    store.rollInterval();
  }, FLUSH_INTERVAL_MS);
  main.onStop(() => clearInterval(tick));
  main.metrics = async () => {
    await fresh();
    const body = renderTunnelPrometheus(store, [
      { name: "weft_tunnel_workers", help: "Data-plane workers", type: "gauge", value: pool.size },
      { name: "weft_tunnel_config_reloads_total", help: "Successful config reloads", type: "counter", value: store.counterValue("server.reload_success") },
      { name: "weft_tunnel_config_reload_failures_total", help: "Rejected config reloads", type: "counter", value: store.counterValue("server.reload_rejected") },
      { name: "weft_tunnel_workload_certificates", help: "Workload certificates held", type: "gauge", value: Object.keys(main.certs.certs).length },
    ]);
    return new Response(body, { headers: { "content-type": "application/openmetrics-text; version=1.0.0; charset=utf-8" } });
  };
  serverStats();
  return { hub, snapshot, fresh };
}

/** Drain (SIGTERM, POST /quitquitquit): stop accepting, let tunnels finish, force-close at the deadline, stop everything. */
function lifecycleControls(main: TunnelMain, pool: WorkerPool, events: StatsEvents): Drain {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let draining: Promise<DrainResult> | undefined;
  const drain = () => {
    draining ??= (async () => {
      main.state = "DRAINING";
      main.log(`weft tunnel: draining (deadline ${main.deadlineMs} ms)`);
      const t0 = Date.now();
      await pool.drain({ closeIdle: true, strategy: "immediate", drainTimeMs: 0, deadlineMs: main.deadlineMs });
      const result = { forced: main.store.counterValue(DRAIN_FORCED_CLOSE), tookMs: Date.now() - t0 };
      events.hub.close();
      await main.stop();
      main.log(`weft tunnel: drained in ${result.tookMs} ms, ${result.forced} connection(s) force-closed`);
      resolveDone();
      return result;
    })();
    return draining;
  };
  return { drain, done };
}

/** Admin's paths: Envoy's stats, the inspector's, the tunnel's own, and the test hooks. */
function registerAdmin(main: TunnelMain, pool: WorkerPool, events: StatsEvents, reload: Reload, lifecycle: Drain): void {
  const { admin, options, store } = main;
  registerStatsAdmin(admin, store, events.fresh);
  registerWorkerAdmin(admin, pool, events.hub, events.snapshot, events.fresh);
  admin.add({ path: "/server_info", help: "server state, runtime and uptime", handle: () => json(main.serverInfo(pool.size)) });
  admin.add({
    path: "/config_dump",
    help: "workloads, services, policies and workload certificates (with expiry)",
    handle: () =>
      json({
        node: options.node,
        config: {
          path: options.configPath,
          loadedAt: new Date(main.configLoadedAt).toISOString(),
          reloads: store.counterValue("server.reload_success"),
          reloadFailures: store.counterValue("server.reload_rejected"),
          lastReloadError: main.lastReloadError,
        },
        workloads: main.config.workloads,
        services: main.config.services,
        policies: main.config.policies,
        certificates: main.certs.dump(),
        rootCertificate: { notAfter: new Date(main.ca.notAfter).toISOString() },
        listeners: main.addresses,
      }),
  });
  if (options.testHooks) registerCrashWorkerHook(admin, (id) => pool.crash(id));
  admin.add({
    path: "/reload",
    method: "POST",
    help: "re-read the config file",
    handle: async () => {
      const r = await reload();
      return json(r, r.ok ? 200 : 400);
    },
  });
  admin.add({
    path: "/quitquitquit",
    method: "POST",
    help: "drain and exit",
    handle: () => {
      void lifecycle.drain();
      return text(200, "OK\n");
    },
  });
}

/**
 * Reload when the config file changes (unless `watchConfig` is false; SIGHUP still does). Its
 * directory is watched, so editors that replace the file by a rename are seen; events are
 * debounced by 100 ms.
 */
function watchConfigFile(main: TunnelMain, reload: Reload): void {
  const path = main.options.configPath;
  if (main.options.watchConfig === false) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const file = basename(path);
  try {
    const watcher = watch(dirname(path), (_event, name) => {
      if (name && String(name) !== file) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 100);
    });
    main.onStop(() => {
      clearTimeout(timer);
      watcher.close();
    });
  } catch (e) {
    main.log(`weft tunnel: cannot watch ${path} (${(e as Error).message}); reload with SIGHUP`);
  }
}

/** Every listener is bound: LIVE, with the real bound addresses. */
function reportReady(main: TunnelMain, reload: Reload, lifecycle: Drain): TunnelApp {
  main.state = "LIVE";
  main.store.setGauge("server.live", 1);
  main.store.setGauge("server.state", 0);
  return {
    get addresses() {
      return main.addresses;
    },
    get state() {
      return main.state;
    },
    reload,
    drain: lifecycle.drain,
    done: lifecycle.done,
  };
}
