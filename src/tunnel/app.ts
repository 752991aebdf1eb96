/**
 * The tunnel's composition root (ztunnel's `app.rs`): loads the local config and the CA, mints the
 * hosted workloads' certificates, starts the data-plane workers and waits until every listener is
 * bound, then serves admin (15000, on 127.0.0.1 unless told otherwise, as ztunnel), metrics (15020) and
 * readiness (15021) on the main thread. Returns
 * the real bound addresses, so tests can ask for port 0. Reloads on demand (SIGHUP is wired by the
 * command) and on file change; drains on demand.
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

import { readFile } from "node:fs/promises";
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import process from "node:process";
import type http from "node:http";
import type { ServerInfo, ServerState, Snapshot } from "../admin/wire.ts";
import { AdminRegistry, json, text } from "../admin/registry.ts";
import { EventHub } from "../admin/event_stream.ts";
import { registerCrashWorkerHook } from "../lifecycle/admin.ts";
import { currentRuntime, workerEntry } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { registerStatsAdmin } from "../stats/admin.ts";
import { StatsStore } from "../stats/store.ts";
import { registerWorkerAdmin } from "../worker/admin.ts";
import { WorkerPool } from "../worker/pool.ts";
import type { LogFormat } from "./access_log.ts";
import { loadCa } from "../tls/ca.ts";
import { CertManager } from "./certs.ts";
import { ConfigError, formatIssue, type LocalConfig, parseLocalConfig } from "./config.ts";
import { DEFAULT_TERMINATION_DEADLINE_MS, type DrainResult } from "./drain.ts";
import { DEFAULT_MAX_STREAMS } from "./hbone.ts";
import { type FetchHandler, serveFetch } from "./http_serve.ts";
import { renderTunnelPrometheus, tunnelClusters } from "./metrics.ts";
import { createPoolOwners, markWorkerDead, MAX_POOL_OWNER_WORKERS } from "./pool_owners.ts";
import {
  type CertMap,
  type DataPlaneAddresses,
  dataPlaneAddresses,
  DEFAULT_PORTS,
  type TunnelPayload,
  type TunnelPorts,
  type TunnelUpdate,
} from "./protocol.ts";
import { workloadIdentity } from "./state.ts";

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

function localIdentities(cfg: LocalConfig, node: string): string[] {
  return [...new Set(cfg.workloads.filter((w) => w.node === node).map(workloadIdentity))];
}

/** The settings `opts` leaves to defaults, resolved and checked. */
function resolveSettings(opts: TunnelOptions) {
  const workers = opts.workers ?? (Number(process.env[WORKER_THREADS_ENV]) || DEFAULT_WORKERS);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_POOL_OWNER_WORKERS) {
    throw new Error(`Cannot start tunnel: workers must be an integer from 1 to ${MAX_POOL_OWNER_WORKERS}, got ${workers}`);
  }
  return {
    workers,
    ports: { ...DEFAULT_PORTS, ...opts.ports } as TunnelPorts,
    deadlineMs: opts.terminationDeadlineMs ?? DEFAULT_TERMINATION_DEADLINE_MS,
    logFormat: opts.logFormat ?? "text",
    log: opts.log ?? ((l: string) => process.stderr.write(l + "\n")),
  };
}

type Settings = ReturnType<typeof resolveSettings>;

/** The config file as last applied, and how reloads went (for `/config_dump`). */
class ConfigState {
  loadedAt = Date.now();
  lastReloadError: string | undefined;
  constructor(readonly path: string, public current: LocalConfig) {}

  static async load(path: string): Promise<ConfigState> {
    return new ConfigState(path, parseLocalConfig(await readFile(path, "utf8"), path));
  }
}

/**
 * Main's per-flush figures: server gauges (Envoy's names) and the certificates' state, measured
 * from the certificates held: how many, and Envoy's `server.days_until_first_cert_expiring`.
 */
function updateServerStats(store: StatsStore, state: ServerState, startedAt: number, runtime: Runtime, pool: WorkerPool, certs: CertManager): void {
  store.setGauge("server.live", state === "LIVE" ? 1 : 0);
  store.setGauge("server.state", state === "LIVE" ? 0 : state === "DRAINING" ? 1 : 2);
  store.setGauge("server.uptime", Math.floor((Date.now() - startedAt) / 1000));
  store.setGauge("server.concurrency", pool.size);
  store.setGauge("server.total_connections", pool.connections().length);
  store.setGauge("server.memory_physical_size", runtime.rss());
  const held = Object.values(certs.certs);
  store.setGauge("tunnel.workload_certificates", held.length);
  const firstExpiry = Math.min(...held.map((c) => c.notAfter));
  store.setGauge("server.days_until_first_cert_expiring", held.length ? Math.max(0, Math.floor((firstExpiry - Date.now()) / 86_400_000)) : 0);
}

/**
 * Step: the data-plane workers on the shared worker runtime (`src/worker/`). Worker 0 binds first
 * and resolves ports of 0; the rest share its ports (reusePort). A dead worker is not replaced: its
 * pool keys go to the survivors, which stop forwarding streams to it.
 */
async function startWorkers(s: Settings, payload: () => TunnelPayload, poolOwners: SharedArrayBuffer, store: StatsStore, testHooks: boolean): Promise<WorkerPool> {
  const pool = new WorkerPool({
    count: s.workers,
    // workerEntry: also resolves inside a Bun-compiled binary.
    entry: workerEntry("src/tunnel/worker_main.ts"),
    flushIntervalMs: FLUSH_INTERVAL_MS,
    instrumentation: true,
    testHooks,
    watchdog: WATCHDOG,
    stats: store,
    payload,
    log: (line) => s.log(`weft tunnel: ${line}`),
    replaceFailedWorkers: false,
    // Its keys go to the next worker that needs them: its own streams will never be released.
    onWorkerDied: (id) => markWorkerDead(poolOwners, id),
    peerChannels: true,
  });
  try {
    await pool.start();
  } catch (e) {
    pool.terminate();
    throw e;
  }
  return pool;
}

/**
 * Step: the main-thread listeners (admin, metrics, readiness); all bound, or none. Bound before the
 * workers start, so these know every address a workload must never reach through them; admin and
 * metrics answer 503 until the tunnel is up.
 */
async function serveMainListeners(
  adminAddress: string,
  bind: string,
  ports: TunnelPorts,
  admin: AdminRegistry,
  metrics: () => Promise<Response>,
  state: () => ServerState,
): Promise<{ servers: http.Server[]; addresses: { admin: string; metrics: string; readiness: string } }> {
  const servers: http.Server[] = [];
  const whenStarted = (handler: FetchHandler): FetchHandler => (req) => state() === "INITIALIZING" ? text(503, "starting\n") : handler(req);
  try {
    const a = await serveFetch(adminAddress, ports.admin, whenStarted((req) => admin.handle(req)));
    servers.push(a.server);
    const m = await serveFetch(bind, ports.metrics, whenStarted((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics" || path === "/stats/prometheus") return metrics();
      return text(404, "try /metrics\n");
    }));
    servers.push(m.server);
    const r = await serveFetch(bind, ports.readiness, (req) => {
      const path = new URL(req.url).pathname;
      if (path !== "/healthz/ready") return text(404, "try /healthz/ready\n");
      return state() === "LIVE" ? text(200, "ready\n") : text(503, `not ready: ${state()}\n`);
    });
    servers.push(r.server);
    return { servers, addresses: { admin: a.address, metrics: m.address, readiness: r.address } };
  } catch (e) {
    await closeServers(servers);
    throw e;
  }
}

function closeServers(servers: http.Server[]): Promise<void> {
  return Promise.all(servers.map((s) =>
    new Promise<void>((r) => {
      s.close(() => r());
      (s as { closeAllConnections?: () => void }).closeAllConnections?.();
    })
  )).then(() => undefined);
}

/** Reload when the config file changes (debounced); null when it cannot be watched. */
function watchConfig(path: string, reload: () => void, log: (line: string) => void): FSWatcher | undefined {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const file = basename(path);
  try {
    return watch(dirname(path), (_event, name) => {
      if (name && String(name) !== file) return;
      clearTimeout(timer);
      timer = setTimeout(reload, 100);
    });
  } catch (e) {
    log(`weft tunnel: cannot watch ${path} (${(e as Error).message}); reload with SIGHUP`);
    return undefined;
  }
}

/** Starts a tunnel; resolves once every listener is bound and the tunnel is ready. */
export async function startTunnel(opts: TunnelOptions): Promise<TunnelApp> {
  const s = resolveSettings(opts);
  const { log } = s;
  const runtime = await currentRuntime();
  const startedAt = Date.now();
  const store = new StatsStore();
  let serverState: ServerState = "INITIALIZING";

  // 1. Config and CA; the hosted workloads' certificates.
  const config = await ConfigState.load(opts.configPath);
  const ca = await loadCa(opts.caDir);
  let version = 0;
  let pool: WorkerPool | undefined;
  const broadcast = (update: TunnelUpdate) => pool!.broadcast(update, String(++version));
  const certs = new CertManager(ca, {
    ...(opts.certLifetimeMs !== undefined ? { lifetimeMs: opts.certLifetimeMs } : {}),
    onChange: (m: CertMap) => {
      store.addCounter("tunnel.certificate_rotations");
      void broadcast({ certs: m });
      log(`weft tunnel: rotated workload certificates (${Object.keys(m).length})`);
    },
  });
  await certs.ensure(localIdentities(config.current, opts.node));

  // 2. Admin (15000), metrics (15020), readiness (15021); admin's paths are registered below.
  const admin = new AdminRegistry({ token: opts.adminToken ?? null });
  let servers: http.Server[] = [];
  let mainAddresses: Pick<TunnelAddresses, "admin" | "metrics" | "readiness">;
  try {
    const main = await serveMainListeners(opts.adminAddress ?? DEFAULT_ADMIN_ADDRESS, opts.bind, s.ports, admin, () => metricsResponse(), () => serverState);
    servers = main.servers;
    mainAddresses = main.addresses;
  } catch (e) {
    certs.stop();
    throw e;
  }

  // 3. The data-plane workers, every listener bound.
  const poolOwners = createPoolOwners();
  const payload = (): TunnelPayload => ({
    poolOwners,
    node: opts.node,
    bindIp: opts.bind,
    ports: s.ports,
    config: config.current,
    certs: certs.certs,
    caPem: certs.caPem,
    logFormat: s.logFormat,
    maxStreamsPerConnection: opts.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS,
    preserveSourceIp: opts.preserveSourceIp ?? true,
    mainListeners: Object.values(mainAddresses),
  });
  try {
    pool = await startWorkers(s, payload, poolOwners, store, Boolean(opts.testHooks));
  } catch (e) {
    await closeServers(servers);
    certs.stop();
    throw e;
  }
  const workers = pool;
  let dataPlane: DataPlaneAddresses = dataPlaneAddresses(workers.listeners);
  store.addCounter("server.reload_success", 0);
  store.addCounter("server.reload_rejected", 0);

  // 4. Stats: current figures on demand, snapshots for the inspector every flush.
  const serverStats = () => updateServerStats(store, serverState, startedAt, runtime, workers, certs);
  const fresh = async () => {
    await workers.flushNow(FRESH_TIMEOUT_MS);
    serverStats();
  };
  const addresses = {} as TunnelAddresses;
  const serverInfo = (): ServerInfo => ({
    mode: "tunnel",
    version: opts.version ?? "dev",
    runtime: runtime.version,
    state: serverState,
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    concurrency: workers.size,
    pid: runtime.pid,
    hotRestartEpoch: 0,
    adminAddress: addresses.admin,
    flushIntervalMs: FLUSH_INTERVAL_MS,
  });
  const hub = new EventHub<Snapshot>();
  let seq = 0;
  const snapshot = (dropped: number): Snapshot => tunnelSnapshot(++seq, dropped, serverInfo(), workers, store);
  const tick = setInterval(() => {
    serverStats();
    if (hub.size > 0) hub.publish(snapshot);
    store.rollInterval();
  }, FLUSH_INTERVAL_MS);
  const metricsResponse = async () => {
    await fresh();
    const body = renderTunnelPrometheus(store, [
      { name: "weft_tunnel_workers", help: "Data-plane workers", type: "gauge", value: workers.size },
      { name: "weft_tunnel_config_reloads_total", help: "Successful config reloads", type: "counter", value: store.counterValue("server.reload_success") },
      { name: "weft_tunnel_config_reload_failures_total", help: "Rejected config reloads", type: "counter", value: store.counterValue("server.reload_rejected") },
      { name: "weft_tunnel_workload_certificates", help: "Workload certificates held", type: "gauge", value: Object.keys(certs.certs).length },
    ]);
    return new Response(body, { headers: { "content-type": "application/openmetrics-text; version=1.0.0; charset=utf-8" } });
  };

  // 5. Reload: validate on main, then every worker applies the new snapshot.
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true });
  const doReload = async (): Promise<ReloadResult> => {
    if (serverState === "DRAINING") return { ok: false, error: "draining" };
    let next: LocalConfig;
    try {
      next = parseLocalConfig(await readFile(opts.configPath, "utf8"), opts.configPath);
    } catch (e) {
      store.addCounter("server.reload_rejected");
      config.lastReloadError = e instanceof ConfigError ? e.issues.map(formatIssue).join("\n") : (e as Error).message;
      log(`weft tunnel: config reload rejected, keeping the previous config:\n${config.lastReloadError}`);
      return { ok: false, error: config.lastReloadError };
    }
    const certsChanged = await certs.ensure(localIdentities(next, opts.node));
    const results = await broadcast(certsChanged ? { certs: certs.certs, config: next } : { config: next });
    config.current = next;
    config.loadedAt = Date.now();
    const applied = results.find((r) => r.listeners.length > 0);
    if (applied) dataPlane = dataPlaneAddresses(applied.listeners);
    Object.assign(addresses, dataPlane);
    const error = results.flatMap((r) => r.errors)[0];
    if (error !== undefined) {
      store.addCounter("server.reload_rejected");
      config.lastReloadError = error;
      log(`weft tunnel: config applied with errors: ${error}`);
      return { ok: false, error };
    }
    store.addCounter("server.reload_success");
    config.lastReloadError = undefined;
    log(`weft tunnel: config reloaded (${next.workloads.length} workloads, ${next.services.length} services, ${next.policies.length} policies)`);
    return { ok: true, workloads: next.workloads.length };
  };
  const reload = () => (reloading = reloading.then(doReload, doReload));

  // 6. Drain: stop accepting, let tunnels finish, force-close at the deadline, stop everything.
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let drainPromise: Promise<DrainResult> | undefined;
  let watcher: FSWatcher | undefined;
  const drain = () => {
    if (drainPromise) return drainPromise;
    serverState = "DRAINING";
    log(`weft tunnel: draining (deadline ${s.deadlineMs} ms)`);
    watcher?.close();
    drainPromise = (async () => {
      const t0 = Date.now();
      await workers.drain({ closeIdle: true, strategy: "immediate", drainTimeMs: 0, deadlineMs: s.deadlineMs });
      const result = { forced: store.counterValue(DRAIN_FORCED_CLOSE), tookMs: Date.now() - t0 };
      clearInterval(tick);
      hub.close();
      certs.stop();
      workers.terminate();
      await closeServers(servers);
      log(`weft tunnel: drained in ${result.tookMs} ms, ${result.forced} connection(s) force-closed`);
      resolveDone();
      return result;
    })();
    return drainPromise;
  };

  // 7. Admin's paths.
  registerStatsAdmin(admin, store, fresh);
  registerWorkerAdmin(admin, workers, hub, snapshot, fresh);
  admin.add({ path: "/server_info", help: "server state, runtime and uptime", handle: () => json(serverInfo()) });
  admin.add({
    path: "/config_dump",
    help: "workloads, services, policies and workload certificates (with expiry)",
    handle: () =>
      json({
        node: opts.node,
        config: {
          path: opts.configPath,
          loadedAt: new Date(config.loadedAt).toISOString(),
          reloads: store.counterValue("server.reload_success"),
          reloadFailures: store.counterValue("server.reload_rejected"),
          lastReloadError: config.lastReloadError,
        },
        workloads: config.current.workloads,
        services: config.current.services,
        policies: config.current.policies,
        certificates: certs.dump(),
        rootCertificate: { notAfter: new Date(ca.notAfter).toISOString() },
        listeners: addresses,
      }),
  });
  if (opts.testHooks) registerCrashWorkerHook(admin, (id) => workers.crash(id));
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
      void drain();
      return text(200, "OK\n");
    },
  });
  Object.assign(addresses, dataPlane, mainAddresses);

  // 8. Live: config watch.
  if (opts.watchConfig !== false) watcher = watchConfig(opts.configPath, () => void reload(), log);
  serverState = "LIVE";
  serverStats();
  return {
    get addresses() {
      return addresses;
    },
    get state() {
      return serverState;
    },
    reload,
    drain,
    done,
  };
}

/** What `/events` pushes: the pool's merged view and the store's stats, histograms and clusters. */
function tunnelSnapshot(seq: number, dropped: number, server: ServerInfo, pool: WorkerPool, store: StatsStore): Snapshot {
  const connections = pool.connections();
  connections.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
  const histograms: Snapshot["histograms"] = {};
  for (const [name, h] of store.histograms) {
    if (name.startsWith("~") || h.count === 0) continue;
    histograms[name] = { count: h.count, sum: h.sum, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max };
  }
  return {
    seq,
    at: Date.now(),
    server,
    workers: pool.workers(),
    connections: connections.slice(0, SNAPSHOT_CONNECTIONS),
    connectionsTotal: connections.length,
    tasks: pool.tasks(),
    tasksTotal: pool.tasksTotal(),
    queues: pool.queues(),
    stats: Object.fromEntries(store.values()),
    histograms,
    clusters: tunnelClusters(store),
    dropped,
  };
}
