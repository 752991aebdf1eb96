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
import type { ConnectionInfo, ServerInfo, ServerState, Snapshot, TaskInfo, WorkerInfo } from "../admin/wire.ts";
import { AdminRegistry, json, text } from "../admin/registry.ts";
import { registerCrashWorkerHook } from "../lifecycle/admin.ts";
import { EventHub } from "../admin/event_stream.ts";
import { newWorker, workerEntry } from "../runtime/mod.ts";
import { RUNTIME } from "./_compat.ts";
import type { LogFormat } from "./access_log.ts";
import { loadCa } from "../tls/ca.ts";
import { CertManager } from "./certs.ts";
import { formatIssue, ConfigError, type LocalConfig, parseLocalConfig } from "./config.ts";
import { DEFAULT_TERMINATION_DEADLINE_MS, type DrainResult } from "./drain.ts";
import { DEFAULT_MAX_STREAMS } from "./hbone.ts";
import { createPoolOwners, markWorkerDead, MAX_POOL_OWNER_WORKERS } from "./pool_owners.ts";
import { mergeSnapshots, renderPrometheus } from "./metrics.ts";
import {
  type CertMap,
  type DataPlaneAddresses,
  DEFAULT_PORTS,
  type MainToWorker,
  type TunnelPorts,
  type WorkerStats,
  type WorkerToMain,
} from "./protocol.ts";
import { type FetchHandler, serveFetch } from "./http_serve.ts";
import { workloadIdentity } from "./state.ts";
import type http from "node:http";

/** Env variable for the number of data-plane workers (ztunnel's WORKER_THREADS). */
export const WORKER_THREADS_ENV = "WEFT_WORKER_THREADS";
/** ztunnel's documented default of worker threads. */
export const DEFAULT_WORKERS = 2;
/** Where admin listens by default: ztunnel's admin is localhost-only, since it can drain the node. */
export const DEFAULT_ADMIN_ADDRESS = "127.0.0.1";
const FLUSH_INTERVAL_MS = 1000;
const STATS_TIMEOUT_MS = 1000;

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

class WorkerHandle {
  readonly worker: Worker;
  #reqs = 0;
  readonly #stats = new Map<number, (s: WorkerStats) => void>();
  readonly #waiters: { pred: (m: WorkerToMain) => boolean; resolve: (m: WorkerToMain) => void }[] = [];
  last: WorkerStats | undefined;
  status = "starting";

  constructor(readonly id: number, onError: (msg: string) => void, onDead: (id: number) => void) {
    // workerEntry: also resolves inside a Bun-compiled binary.
    this.worker = newWorker(workerEntry("src/tunnel/worker_main.ts"), `worker_${id}`);
    this.worker.onmessage = (e: MessageEvent<WorkerToMain>) => {
      const m = e.data;
      if (m.type === "stats") {
        this.last = m.stats;
        this.#stats.get(m.reqId)?.(m.stats);
        this.#stats.delete(m.reqId);
        return;
      }
      if (m.type === "error") onError(`worker ${id}: ${m.message}`);
      const i = this.#waiters.findIndex((w) => w.pred(m));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      // Dead for sure (its sockets closed), before the others are told so.
      this.worker.terminate();
      this.status = "dead";
      onError(`worker ${id} failed: ${e.message}`);
      onDead(id);
      for (const w of this.#waiters.splice(0)) w.resolve({ type: "error", message: e.message });
    };
  }

  send(m: MainToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  wait<T extends WorkerToMain>(pred: (m: WorkerToMain) => boolean, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(entry);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`worker ${this.id}: timed out waiting for ${what}`));
      }, timeoutMs);
      const entry = {
        pred,
        resolve: (m: WorkerToMain) => {
          clearTimeout(timer);
          if (m.type === "error" && !pred(m)) reject(new Error(m.message));
          else resolve(m as T);
        },
      };
      this.#waiters.push(entry);
    });
  }

  stats(timeoutMs = STATS_TIMEOUT_MS): Promise<WorkerStats | undefined> {
    if (this.status === "dead") {
      // Its counters stay (Prometheus counters do not go back); its connections and tasks died with it.
      const last = this.last;
      return Promise.resolve(
        last && {
          ...last,
          worker: { ...last.worker, status: "dead", openConnections: 0, inflightTasks: 0 },
          connections: [],
          tasks: [],
        },
      );
    }
    const reqId = ++this.#reqs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#stats.delete(reqId);
        resolve(this.last);
      }, timeoutMs);
      this.#stats.set(reqId, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.send({ type: "stats", reqId });
    });
  }
}

function localIdentities(cfg: LocalConfig, node: string): string[] {
  return [...new Set(cfg.workloads.filter((w) => w.node === node).map(workloadIdentity))];
}

function portOf(address: string | undefined): number | undefined {
  if (!address) return undefined;
  const p = Number(address.slice(address.lastIndexOf(":") + 1));
  return Number.isFinite(p) ? p : undefined;
}

/** Starts a tunnel; resolves once every listener is bound and the tunnel is ready. */
export async function startTunnel(opts: TunnelOptions): Promise<TunnelApp> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const startedAt = Date.now();
  const ports: TunnelPorts = { ...DEFAULT_PORTS, ...opts.ports };
  const nWorkers = opts.workers ?? (Number(process.env[WORKER_THREADS_ENV]) || DEFAULT_WORKERS);
  if (!Number.isInteger(nWorkers) || nWorkers < 1 || nWorkers > MAX_POOL_OWNER_WORKERS) {
    throw new Error(`Cannot start tunnel: workers must be an integer from 1 to ${MAX_POOL_OWNER_WORKERS}, got ${nWorkers}`);
  }
  const deadlineMs = opts.terminationDeadlineMs ?? DEFAULT_TERMINATION_DEADLINE_MS;
  const logFormat = opts.logFormat ?? "text";
  let serverState: ServerState = "INITIALIZING";

  let config = parseLocalConfig(await readFile(opts.configPath, "utf8"), opts.configPath);
  let configLoadedAt = Date.now();
  const reloads = { ok: 0, failed: 0 };
  let lastReloadError: string | undefined;
  const ca = await loadCa(opts.caDir);

  const workers: WorkerHandle[] = [];
  const certs = new CertManager(ca, {
    ...(opts.certLifetimeMs !== undefined ? { lifetimeMs: opts.certLifetimeMs } : {}),
    onChange: (m: CertMap) => {
      for (const w of workers) w.send({ type: "certs", certs: m });
      log(`weft tunnel: rotated workload certificates (${Object.keys(m).length})`);
    },
  });
  await certs.ensure(localIdentities(config, opts.node));

  // ---- admin, metrics, readiness: bound before the workers start, so they know every address a
  // workload must never reach through them. Handlers defined below answer once the tunnel is up.
  const servers: http.Server[] = [];
  const whenStarted = (handler: FetchHandler): FetchHandler => (req) =>
    serverState === "INITIALIZING" ? text(503, "starting\n") : handler(req);
  let mainAddresses: Pick<TunnelAddresses, "admin" | "metrics" | "readiness">;
  try {
    const a = await serveFetch(opts.adminAddress ?? DEFAULT_ADMIN_ADDRESS, ports.admin, whenStarted((req) => admin.handle(req)));
    servers.push(a.server);
    const m = await serveFetch(opts.bind, ports.metrics, whenStarted((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics" || path === "/stats/prometheus") return metricsResponse();
      return text(404, "try /metrics\n");
    }));
    servers.push(m.server);
    const r = await serveFetch(opts.bind, ports.readiness, (req) => {
      const path = new URL(req.url).pathname;
      if (path !== "/healthz/ready") return text(404, "try /healthz/ready\n");
      return serverState === "LIVE" ? text(200, "ready\n") : text(503, `not ready: ${serverState}\n`);
    });
    servers.push(r.server);
    mainAddresses = { admin: a.address, metrics: m.address, readiness: r.address };
  } catch (e) {
    for (const s of servers) s.close();
    certs.stop();
    throw e;
  }

  const onWorkerError = (msg: string) => log(`weft tunnel: ${msg}`);
  const poolOwners = createPoolOwners();
  // The others stop forwarding streams to a dead worker (they open them on their own pools).
  const onWorkerDead = (dead: number) => {
    // Its keys go to the next worker that needs them: its own streams will never be released.
    markWorkerDead(poolOwners, dead);
    for (const w of workers) if (w.id !== dead && w.status !== "dead") w.send({ type: "peerGone", worker: dead });
  };
  const stopWorkers = () => {
    for (const w of workers) w.worker.terminate();
  };
  let dp: DataPlaneAddresses;
  try {
    const init = (id: number, p: TunnelPorts) => {
      const w = new WorkerHandle(id, onWorkerError, onWorkerDead);
      workers.push(w);
      w.send({
        type: "init",
        init: {
          workerId: id,
          poolOwners,
          node: opts.node,
          bindIp: opts.bind,
          ports: p,
          config,
          certs: certs.certs,
          caPem: certs.caPem,
          logFormat,
          maxStreamsPerConnection: opts.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS,
          preserveSourceIp: opts.preserveSourceIp ?? true,
          mainListeners: Object.values(mainAddresses),
        },
      });
      return w.wait<{ type: "bound"; addresses: DataPlaneAddresses }>((m) => m.type === "bound", 30_000, "bind")
        .then((m) => {
          w.status = "running";
          return m.addresses;
        });
    };
    // Worker 0 resolves any port 0; the others bind the same ports (reusePort).
    dp = await init(0, ports);
    const resolved: TunnelPorts = {
      ...ports,
      outbound: portOf(dp.outbound) ?? ports.outbound,
      socks5: portOf(dp.socks5) ?? ports.socks5,
      hbone: portOf(Object.values(dp.hbone)[0]) ?? ports.hbone,
      inboundPlaintext: portOf(Object.values(dp.inboundPlaintext)[0]) ?? ports.inboundPlaintext,
    };
    Object.assign(ports, resolved);
    await Promise.all(Array.from({ length: nWorkers - 1 }, (_, i) => init(i + 1, resolved)));
    // A port between every pair of workers: streams for a pool key are forwarded to the worker
    // that carries the key's streams (pool_owners.ts).
    const peerPorts: Record<number, MessagePort>[] = workers.map(() => ({}));
    for (let i = 0; i < workers.length; i++) {
      for (let j = i + 1; j < workers.length; j++) {
        const ch = new MessageChannel();
        peerPorts[i]![j] = ch.port1;
        peerPorts[j]![i] = ch.port2;
      }
    }
    workers.forEach((w, i) => w.send({ type: "peers", ports: peerPorts[i]! }, Object.values(peerPorts[i]!)));
  } catch (e) {
    for (const s of servers) s.close();
    stopWorkers();
    certs.stop();
    throw e;
  }

  // ---- admin, metrics, readiness -------------------------------------------------------------
  const collect = async (): Promise<WorkerStats[]> =>
    (await Promise.all(workers.map((w) => w.stats()))).filter((s): s is WorkerStats => s !== undefined);

  const workerInfos = (stats: WorkerStats[]): WorkerInfo[] =>
    workers.map((w, i) => {
      const s = stats.find((x) => x.worker.id === w.id)?.worker ?? w.last?.worker;
      const base = s ?? { id: i, status: w.status } as WorkerInfo;
      return { ...base, status: w.status === "dead" ? "dead" : base.status };
    });

  const metricsText = async () => {
    const stats = await collect();
    return renderPrometheus(mergeSnapshots(stats.map((s) => s.metrics)), [
      { name: "weft_tunnel_workers", help: "Data-plane workers", type: "gauge", value: workers.length },
      { name: "weft_tunnel_config_reloads_total", help: "Successful config reloads", type: "counter", value: reloads.ok },
      { name: "weft_tunnel_config_reload_failures_total", help: "Rejected config reloads", type: "counter", value: reloads.failed },
      { name: "weft_tunnel_workload_certificates", help: "Workload certificates held", type: "gauge", value: Object.keys(certs.certs).length },
    ]);
  };
  const metricsResponse = async () =>
    new Response(await metricsText(), {
      headers: { "content-type": "application/openmetrics-text; version=1.0.0; charset=utf-8" },
    });

  const addresses = {} as TunnelAddresses;
  const serverInfo = (): ServerInfo => ({
    mode: "tunnel",
    version: opts.version ?? "dev",
    runtime: RUNTIME,
    state: serverState,
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    concurrency: workers.length,
    pid: process.pid,
    hotRestartEpoch: 0,
    adminAddress: addresses.admin,
    flushIntervalMs: FLUSH_INTERVAL_MS,
  });

  const admin = new AdminRegistry({ token: opts.adminToken ?? null });
  admin.servedAt(mainAddresses.admin);
  const hub = new EventHub<Snapshot>();
  let seq = 0;
  const snapshot = async (dropped: number): Promise<Snapshot> => {
    const stats = await collect();
    const connections: ConnectionInfo[] = stats.flatMap((s) => s.connections);
    const tasks: TaskInfo[] = stats.flatMap((s) => s.tasks);
    const merged = mergeSnapshots(stats.map((s) => s.metrics));
    const flat: Record<string, number> = {};
    for (const [name, fam] of Object.entries(merged)) {
      flat[name] = Object.values(fam).reduce((a, b) => a + b, 0);
    }
    connections.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
    return {
      seq: ++seq,
      at: Date.now(),
      server: serverInfo(),
      workers: workerInfos(stats),
      connections: connections.slice(0, 200),
      connectionsTotal: connections.length,
      tasks: tasks.slice(0, 200),
      tasksTotal: tasks.length,
      queues: [],
      stats: flat,
      histograms: {},
      clusters: [],
      dropped,
    };
  };

  let drainPromise: Promise<DrainResult> | undefined;
  const app = {} as TunnelApp;

  admin.add({ path: "/server_info", help: "server state, runtime and uptime", handle: () => json(serverInfo()) });
  admin.add({
    path: "/config_dump",
    help: "workloads, services, policies and workload certificates (with expiry)",
    handle: () =>
      json({
        node: opts.node,
        config: {
          path: opts.configPath,
          loadedAt: new Date(configLoadedAt).toISOString(),
          reloads: reloads.ok,
          reloadFailures: reloads.failed,
          lastReloadError,
        },
        workloads: config.workloads,
        services: config.services,
        policies: config.policies,
        certificates: certs.dump(),
        rootCertificate: { notAfter: new Date(ca.notAfter).toISOString() },
        listeners: addresses,
      }),
  });
  admin.add({
    path: "/workers",
    help: "data-plane workers: loop lag, connections, tasks",
    handle: async () => json({ concurrency: workers.length, workers: workerInfos(await collect()) }),
  });
  admin.add({
    path: "/connections",
    help: "open connections (downstream, inbound HBONE, pooled HBONE sessions)",
    handle: async () => {
      const list = (await collect()).flatMap((s) => s.connections);
      return json({ total: list.length, connections: list });
    },
  });
  admin.add({
    path: "/tasks",
    help: "in-flight tunnelled connections",
    handle: async () => json({ tasks: (await collect()).flatMap((s) => s.tasks), queues: [] }),
  });
  admin.add({
    path: "/events",
    help: "server-sent snapshots every flush",
    handle: async () => {
      const first = await snapshot(0);
      return hub.subscribe(() => first);
    },
  });
  admin.add({ path: "/stats/prometheus", help: "Prometheus metrics", handle: metricsResponse });
  if (opts.testHooks) {
    registerCrashWorkerHook(admin, (id) => {
      const w = workers.find((w) => w.id === id && w.status !== "dead");
      w?.send({ type: "crash" });
      return w !== undefined;
    });
  }
  admin.add({
    path: "/reload",
    method: "POST",
    help: "re-read the config file",
    handle: async () => {
      const r = await app.reload();
      return json(r, r.ok ? 200 : 400);
    },
  });
  admin.add({
    path: "/quitquitquit",
    method: "POST",
    help: "drain and exit",
    handle: () => {
      void app.drain();
      return text(200, "OK\n");
    },
  });

  Object.assign(addresses, dp, mainAddresses);

  const flush = setInterval(() => {
    if (hub.size === 0) return;
    void snapshot(0).then((s) => hub.publish((dropped) => ({ ...s, dropped })));
  }, FLUSH_INTERVAL_MS);

  // ---- reload ---------------------------------------------------------------------------------
  let configSeq = 0;
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true });
  const doReload = async (): Promise<ReloadResult> => {
    if (serverState === "DRAINING") return { ok: false, error: "draining" };
    let next: LocalConfig;
    try {
      next = parseLocalConfig(await readFile(opts.configPath, "utf8"), opts.configPath);
    } catch (e) {
      reloads.failed++;
      lastReloadError = e instanceof ConfigError ? e.issues.map(formatIssue).join("\n") : (e as Error).message;
      log(`weft tunnel: config reload rejected, keeping the previous config:\n${lastReloadError}`);
      return { ok: false, error: lastReloadError };
    }
    if (await certs.ensure(localIdentities(next, opts.node))) {
      for (const w of workers) w.send({ type: "certs", certs: certs.certs });
    }
    const s = ++configSeq;
    const results = await Promise.all(workers.map((w) => {
      w.send({ type: "config", config: next, seq: s });
      return w.wait<{ type: "reconfigured"; seq: number; addresses: DataPlaneAddresses; error?: string }>(
        (m) => m.type === "reconfigured" && m.seq === s,
        30_000,
        "reconfigure",
      ).catch((e) => ({ type: "reconfigured" as const, seq: s, addresses: dp, error: (e as Error).message }));
    }));
    config = next;
    configLoadedAt = Date.now();
    const failed = results.find((r) => r.error);
    Object.assign(addresses, results[0]?.addresses ?? {});
    if (failed) {
      reloads.failed++;
      lastReloadError = failed.error;
      log(`weft tunnel: config applied with errors: ${failed.error}`);
      return { ok: false, error: failed.error! };
    }
    reloads.ok++;
    lastReloadError = undefined;
    log(`weft tunnel: config reloaded (${next.workloads.length} workloads, ${next.services.length} services, ${next.policies.length} policies)`);
    return { ok: true, workloads: next.workloads.length };
  };
  app.reload = () => (reloading = reloading.then(doReload, doReload));

  let watcher: FSWatcher | undefined;
  if (opts.watchConfig !== false) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const file = basename(opts.configPath);
    try {
      watcher = watch(dirname(opts.configPath), (_event, name) => {
        if (name && String(name) !== file) return;
        clearTimeout(timer);
        timer = setTimeout(() => void app.reload(), 100);
      });
    } catch (e) {
      log(`weft tunnel: cannot watch ${opts.configPath} (${(e as Error).message}); reload with SIGHUP`);
    }
  }

  // ---- drain ----------------------------------------------------------------------------------
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  app.drain = () => {
    if (drainPromise) return drainPromise;
    serverState = "DRAINING";
    log(`weft tunnel: draining (deadline ${deadlineMs} ms)`);
    watcher?.close();
    drainPromise = (async () => {
      const t0 = Date.now();
      const results = await Promise.all(workers.map((w) => {
        w.send({ type: "drain", deadlineMs });
        return w.wait<{ type: "drained"; result: DrainResult }>((m) => m.type === "drained", deadlineMs + 5000, "drain")
          .then((m) => m.result)
          .catch(() => ({ forced: 0, tookMs: Date.now() - t0 }));
      }));
      const result = {
        forced: results.reduce((a, r) => a + r.forced, 0),
        tookMs: Date.now() - t0,
      };
      clearInterval(flush);
      hub.close();
      certs.stop();
      stopWorkers();
      await Promise.all(servers.map((s) =>
        new Promise<void>((r) => {
          s.close(() => r());
          (s as { closeAllConnections?: () => void }).closeAllConnections?.();
        })
      ));
      log(`weft tunnel: drained in ${result.tookMs} ms, ${result.forced} connection(s) force-closed`);
      resolveDone();
      return result;
    })();
    return drainPromise;
  };

  serverState = "LIVE";
  Object.defineProperty(app, "addresses", { get: () => addresses });
  Object.defineProperty(app, "state", { get: () => serverState });
  Object.defineProperty(app, "done", { value: done });
  return app;
}
