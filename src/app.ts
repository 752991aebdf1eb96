/**
 * The composition root of `weft proxy serve` (ztunnel's app.rs): the only place that wires config,
 * workers, stats, admin and lifecycle together. It binds every listener (in every worker) and the
 * admin endpoint before it reports ready, so bind errors fail startup, and it returns the real bound
 * addresses, so tests can ask for port 0.
 *
 * @example Start on port 0 and stop
 * ```ts
 * const app = await startProxy({ config, configPath: null, concurrency: 2, … });
 * console.log(app.listeners[0].port, app.admin?.port);
 * await app.shutdown("test done");
 * ```
 * @module
 */
import { EventHub } from "./admin/event_stream.ts";
import { AdminRegistry, json, text } from "./admin/registry.ts";
import type { ServerInfo, Snapshot } from "./admin/wire.ts";
import type { LoadedBootstrap, LoadResult } from "./config/load.ts";
import type { Bootstrap, Endpoint } from "./config/types.ts";
import { clusterInfos, registerEdgeAdmin } from "./edge/admin.ts";
import { clearWorkerRow, createLimitsBuffer, MAX_LISTENERS } from "./edge/connection_limits.ts";
import { DnsRefresher, resolveEndpoints } from "./edge/dns.ts";
import type { EdgeSnapshot } from "./edge/snapshot.ts";
import { registerLifecycleAdmin } from "./lifecycle/admin.ts";
import { controlSocketPath, HotRestartListener, ParentLink } from "./lifecycle/hot_restart.ts";
import { watchFile } from "./lifecycle/watch.ts";
import { currentRuntime, newWorker, workerEntry } from "./runtime/mod.ts";
import type { HttpServer, Runtime } from "./runtime/types.ts";
import { registerStatsAdmin } from "./stats/admin.ts";
import { StatsStore } from "./stats/store.ts";
import { registerWorkerAdmin } from "./worker/admin.ts";
import type { BoundListener, DrainOptions } from "./worker/messages.ts";
import { WorkerPool } from "./worker/pool.ts";

export interface ProxyOptions {
  config: LoadedBootstrap;
  /** Re-reads the config for a live reload; null when there is no file (embedded default). */
  reloadConfig: (() => Promise<LoadResult>) | null;
  concurrency: number;
  version: string;
  /** Dispatcher lag sampling and busy time (on unless benchmarking its cost). */
  instrumentation: boolean;
  testHooks: boolean;
  adminToken: string | null;
  /** Envoy's --drain-time-s: how long a drain lasts (shutdown waits for in-flight requests this long). */
  drainTimeMs: number;
  /** Envoy's --parent-shutdown-time-s: a hot-restart parent exits this long after the handover. */
  parentShutdownTimeMs: number;
  drainStrategy: "gradual" | "immediate";
  /** Start the built-in echo upstream on 127.0.0.1:10001 (the embedded default config uses it). */
  builtinEcho: boolean;
  baseId: number;
  restartEpoch: number;
  /** Reload when the config file changes. */
  watchConfig: boolean;
  log: (line: string) => void;
}

export interface ProxyApp {
  runtime: Runtime;
  admin: { hostname: string; port: number } | null;
  listeners: BoundListener[];
  /** Drain (listeners close, in-flight requests finish) and stop everything. */
  shutdown(reason: string): Promise<void>;
  /** Resolves once shut down (by a signal, /quitquitquit, or a hot restart handover). */
  stopped: Promise<void>;
}

/** The last reload attempt, for /config_dump. */
interface ReloadAttempt {
  at: string;
  trigger: string;
  ok: boolean;
  errors: string[];
}

const SNAPSHOT_CONNECTIONS = 500;

export async function startProxy(options: ProxyOptions): Promise<ProxyApp> {
  const runtime = await currentRuntime();
  const startedAt = Date.now();
  const store = new StatsStore();
  let config = options.config;
  let bootstrap: Bootstrap = config.bootstrap;
  const flushIntervalMs = bootstrap.statsFlushIntervalMs;
  let state: ServerInfo["state"] = "INITIALIZING";
  let healthCheckFailed = false;
  const stopFns: (() => void | Promise<void>)[] = [];
  const stop = async () => {
    for (const f of stopFns.splice(0).reverse()) await f();
  };

  try {
    // Clusters first, as Envoy warms clusters before listeners: DNS names resolved up front.
    const endpoints = new Map<string, Endpoint[]>();
    const resolveAll = async (b: Bootstrap) => {
      const out = new Map<string, Endpoint[]>();
      for (const c of b.clusters) {
        out.set(c.name, await resolveEndpoints(c, (h) => runtime.resolveIPv4(h)).catch((e) => {
          options.log(`cluster ${c.name}: cannot resolve endpoints: ${e instanceof Error ? e.message : e}`);
          return [];
        }));
      }
      return out;
    };
    for (const [k, v] of await resolveAll(bootstrap)) endpoints.set(k, v);

    let version = 1;
    let appliedAt = new Date(startedAt).toISOString();
    let lastAttempt: ReloadAttempt | null = null;
    const listenerIndex = new Map<string, number>();
    const indexListeners = (b: Bootstrap) => {
      for (const l of b.listeners) {
        if (!listenerIndex.has(l.name) && listenerIndex.size < MAX_LISTENERS) listenerIndex.set(l.name, listenerIndex.size);
      }
    };
    indexListeners(bootstrap);
    const limits = createLimitsBuffer(options.concurrency);
    const resolvedPorts: Record<string, number> = {};
    const snapshot = (): EdgeSnapshot => ({
      resolvedPorts,
      version: String(version),
      bootstrap,
      endpoints: Object.fromEntries(endpoints),
      listenerIndex: Object.fromEntries(listenerIndex),
      limits,
    });

    if (options.builtinEcho) stopFns.push(await startBuiltinEcho());

    const pool = new WorkerPool({
      count: options.concurrency,
      entry: workerEntry("src/edge/worker_main.ts"),
      flushIntervalMs,
      instrumentation: options.instrumentation,
      testHooks: options.testHooks,
      watchdog: bootstrap.watchdog,
      stats: store,
      payload: snapshot,
      log: options.log,
      onWorkerReplaced: (id) => clearWorkerRow(limits, id),
      onMultikill: (reason) => {
        options.log(reason);
        runtime.exit(1);
      },
    });
    stopFns.push(() => pool.terminate());
    const listeners = await pool.start();

    const broadcast = async () => {
      version++;
      appliedAt = new Date().toISOString();
      const results = await pool.broadcast(snapshot(), String(version));
      return results.flatMap((r) => r.errors);
    };

    // DNS clusters re-resolve on dns_refresh_rate; a change reaches workers as a new snapshot.
    const dns = new DnsRefresher((h) => runtime.resolveIPv4(h));
    for (const c of bootstrap.clusters) dns.resolved(c.name, Date.now());
    let dnsBusy = false;
    const dnsTimer = setInterval(async () => {
      if (dnsBusy) return;
      dnsBusy = true;
      try {
        if (await dns.refresh(bootstrap.clusters, endpoints, Date.now())) await broadcast();
      } finally {
        dnsBusy = false;
      }
    }, 250);
    stopFns.push(() => clearInterval(dnsTimer));

    /**
     * Live reload: validate the file on main; an invalid one changes nothing and is reported (log,
     * /config_dump, `server.reload_rejected`); a valid one reaches workers as a new snapshot.
     */
    const reload = async (trigger: string): Promise<ReloadAttempt> => {
      const at = new Date().toISOString();
      const loaded: LoadResult = options.reloadConfig === null
        ? { ok: false, messages: ["there is no config file to reload (weft runs the embedded default)"] }
        : await options.reloadConfig();
      if (!loaded.ok) {
        store.addCounter("server.reload_rejected");
        lastAttempt = { at, trigger, ok: false, errors: loaded.messages };
        options.log(`reload (${trigger}) rejected; the running config is unchanged:\n  ${loaded.messages.join("\n  ")}`);
        return lastAttempt;
      }
      const next = loaded.bootstrap;
      if (next.statsFlushIntervalMs !== bootstrap.statsFlushIntervalMs) {
        options.log("reload: stats_flush_interval changes need a restart; keeping the running value");
      }
      const nextEndpoints = await resolveAll(next);
      config = loaded;
      bootstrap = { ...next, statsFlushIntervalMs: bootstrap.statsFlushIntervalMs };
      endpoints.clear();
      for (const [k, v] of nextEndpoints) endpoints.set(k, v);
      indexListeners(bootstrap);
      for (const l of bootstrap.listeners) {
        if (l.address.port === 0 && !pool.listeners.some((b) => b.name === l.name)) {
          resolvedPorts[l.name] = await runtime.freePort(l.address.address);
          pool.setResolvedPort(l.name, resolvedPorts[l.name]!);
        }
      }
      const errors = await broadcast();
      store.addCounter("server.reload_success");
      lastAttempt = { at, trigger, ok: errors.length === 0, errors };
      options.log(`reload (${trigger}) applied: config version ${version}${errors.length ? `; ${errors.join("; ")}` : ""}`);
      return lastAttempt;
    };

    const serverStats = () => {
      store.setGauge("server.live", state === "LIVE" ? 1 : 0);
      store.setGauge("server.state", state === "LIVE" ? 0 : state === "DRAINING" ? 1 : 2);
      store.setGauge("server.uptime", Math.floor((Date.now() - startedAt) / 1000));
      store.setGauge("server.concurrency", options.concurrency);
      store.setGauge("server.hot_restart_epoch", options.restartEpoch);
      store.setGauge("server.total_connections", pool.connections().length);
      store.setGauge("server.memory_physical_size", runtime.rss());
      for (const c of bootstrap.clusters) {
        const n = endpoints.get(c.name)?.length ?? 0;
        store.setGauge(`cluster.${c.name}.membership_total`, n);
        store.setGauge(`cluster.${c.name}.membership_healthy`, n);
      }
    };
    store.addCounter("server.reload_success", 0);
    store.addCounter("server.reload_rejected", 0);

    let adminServer: HttpServer | null = null;
    const serverInfo = (): ServerInfo & Record<string, unknown> => {
      const uptimeS = Math.floor((Date.now() - startedAt) / 1000);
      return {
        mode: "proxy",
        version: options.version,
        runtime: runtime.version,
        state,
        uptimeS,
        concurrency: options.concurrency,
        pid: runtime.pid,
        hotRestartEpoch: options.restartEpoch,
        adminAddress: adminServer ? `${adminServer.hostname}:${adminServer.port}` : "",
        flushIntervalMs,
        // Envoy's field names, for scripts written against Envoy.
        uptime_current_epoch: `${uptimeS}s`,
        uptime_all_epochs: `${uptimeS}s`,
        hot_restart_version: "weft.reuseport.1",
        command_line_options: {
          concurrency: options.concurrency,
          restart_epoch: options.restartEpoch,
          base_id: options.baseId,
          config_path: config.source,
          drain_time_s: options.drainTimeMs / 1000,
          parent_shutdown_time_s: options.parentShutdownTimeMs / 1000,
          drain_strategy: options.drainStrategy,
        },
        health_check_failed: healthCheckFailed,
      };
    };

    const buildSnapshot = (seq: number) => (dropped: number): Snapshot => {
      const all = pool.connections();
      all.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
      const histograms: Snapshot["histograms"] = {};
      for (const [name, h] of store.histograms) {
        if (name.startsWith("~") || h.count === 0) continue;
        histograms[name] = { count: h.count, sum: h.sum, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max };
      }
      return {
        seq,
        at: Date.now(),
        server: serverInfo(),
        workers: pool.workers(),
        connections: all.slice(0, SNAPSHOT_CONNECTIONS),
        connectionsTotal: all.length,
        tasks: pool.tasks(),
        tasksTotal: pool.tasksTotal(),
        queues: pool.queues(),
        stats: Object.fromEntries(store.values()),
        histograms,
        clusters: clusterInfos(clusterView, store),
        dropped,
      };
    };

    const hub = new EventHub<Snapshot>();
    stopFns.push(() => hub.close());
    let seq = 0;
    let hotRestart: HotRestartListener | null = null;
    const counters = () => Object.fromEntries(store.counters);
    const tick = setInterval(() => {
      serverStats();
      if (hub.size > 0) hub.publish(buildSnapshot(++seq));
      store.rollInterval();
      if (state === "DRAINING") hotRestart?.sendStats(counters());
    }, flushIntervalMs);
    stopFns.push(() => clearInterval(tick));

    const clusterView = { clusters: () => bootstrap.clusters, endpoints: (name: string) => endpoints.get(name) ?? [] };
    let shuttingDown: Promise<void> | null = null;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));

    const drain = async (drainOptions: DrainOptions) => {
      if (state === "DRAINING") return;
      state = "DRAINING";
      await pool.drain(drainOptions);
    };
    const shutdownDrain: DrainOptions = {
      closeIdle: true,
      strategy: "immediate",
      drainTimeMs: 0,
      deadlineMs: options.drainTimeMs,
    };
    const finish = (reason: string, drainOptions: DrainOptions): Promise<void> => {
      shuttingDown ??= (async () => {
        options.log(`shutting down (${reason}): draining for up to ${Math.round(drainOptions.deadlineMs / 1000)} s`);
        await drain(drainOptions);
        hotRestart?.sendStats(counters());
        await stop();
        resolveStopped();
      })();
      return shuttingDown;
    };
    const shutdown = (reason: string) => finish(reason, shutdownDrain);

    const fresh = async () => {
      await pool.flushNow();
      serverStats();
    };
    const admin = new AdminRegistry({ token: options.adminToken });
    registerStatsAdmin(admin, store, fresh);
    registerWorkerAdmin(admin, pool, hub, (dropped) => buildSnapshot(seq)(dropped), fresh);
    registerEdgeAdmin(admin, clusterView, store, () => pool.listeners, fresh);
    registerLifecycleAdmin(admin, {
      serverInfo,
      state: () => state,
      setHealthCheckFailed: (f) => (healthCheckFailed = f),
      drainListeners: () => void drain({ ...shutdownDrain, deadlineMs: options.drainTimeMs }),
      quit: () => void shutdown("POST /quitquitquit"),
      blockWorker: options.testHooks ? (w, ms) => pool.block(w, ms) : null,
      crashWorker: options.testHooks ? (w) => pool.crash(w) : null,
    });
    admin.add({
      path: "/reload",
      method: "POST",
      help: "re-read the bootstrap file and apply it if valid (also SIGHUP)",
      async handle() {
        const r = await reload("POST /reload");
        return r.ok ? text(200, `OK: config version ${version}\n`) : text(400, `reload rejected; the running config is unchanged:\n${r.errors.join("\n")}\n`);
      },
    });
    admin.add({
      path: "/config_dump",
      help: "dump the current configuration, its version and the last reload attempt",
      handle: () =>
        json({
          configs: [
            { "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", bootstrap: config.raw, last_updated: appliedAt },
            {
              "@type": "type.googleapis.com/weft.admin.ConfigState",
              source: config.source,
              version: String(version),
              applied_at: appliedAt,
              last_reload_attempt: lastAttempt,
            },
          ],
        }),
    });

    // Hot restart, child side: the parent gives up the admin address before we bind it.
    let parent: ParentLink | null = null;
    if (options.restartEpoch > 0) {
      parent = await ParentLink.connect(controlSocketPath(options.baseId, options.restartEpoch - 1), (name, delta) => store.addCounter(name, delta));
      if (parent === null) options.log(`restart epoch ${options.restartEpoch}: no parent answers on its control socket; starting fresh`);
      else if (!(await parent.releaseAdmin())) options.log("hot restart: the parent did not release its admin endpoint in time");
    }

    if (bootstrap.admin !== null) {
      try {
        adminServer = await runtime.serveHttp({ hostname: bootstrap.admin.address, port: bootstrap.admin.port }, (req) => admin.handle(req));
      } catch (e) {
        throw new Error(`admin cannot bind ${bootstrap.admin.address}:${bootstrap.admin.port}: ${e instanceof Error ? e.message : e}`);
      }
    }
    const releaseAdmin = async () => {
      const server = adminServer;
      adminServer = null;
      hub.close();
      await server?.close();
    };
    stopFns.push(releaseAdmin);

    // Hot restart, parent side: the next epoch finds us on our control socket.
    hotRestart = await HotRestartListener.listen(controlSocketPath(options.baseId, options.restartEpoch), {
      releaseAdmin,
      counters,
      drain: (request) => {
        options.log(`hot restart: epoch ${options.restartEpoch + 1} took over; draining (${request.strategy}) for ${request.drainTimeMs / 1000} s`);
        void finish("hot restart", {
          closeIdle: false,
          strategy: request.strategy,
          drainTimeMs: request.drainTimeMs,
          deadlineMs: request.parentShutdownTimeMs,
        });
      },
    });
    const restartListener = hotRestart;
    stopFns.push(() => restartListener.close());

    // Both sides now serve: the parent stops accepting and drains.
    if (parent !== null) {
      await parent.drain({
        drainTimeMs: options.drainTimeMs,
        parentShutdownTimeMs: options.parentShutdownTimeMs,
        strategy: options.drainStrategy,
      });
    }

    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      // The handlers stay installed until exit: removing them mid-shutdown would let Deno apply the
      // default action to a signal it already delivered (the process then dies of SIGTERM, not exit 0).
      runtime.onSignal(sig, () => void shutdown(sig));
    }
    runtime.onSignal("SIGHUP", () => void reload("SIGHUP"));
    if (options.watchConfig && config.source !== "embedded default") {
      stopFns.push(watchFile(config.source, () => void reload("file changed")));
    }

    state = "LIVE";
    serverStats();
    return {
      runtime,
      admin: adminServer ? { hostname: (adminServer as HttpServer).hostname, port: (adminServer as HttpServer).port } : null,
      listeners,
      shutdown,
      stopped,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Start the built-in echo upstream in a worker of its own; returns its stop function. */
async function startBuiltinEcho(): Promise<() => void> {
  const worker = newWorker(workerEntry("src/edge/builtin_echo_worker.ts"), "builtin_echo");
  const result = await new Promise<{ ok: boolean; message?: string }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => resolve({ ok: false, message: e.message });
    worker.postMessage({ hostname: "127.0.0.1", port: 10001 });
  });
  if (!result.ok) {
    worker.terminate();
    throw new Error(`the built-in echo upstream cannot bind 127.0.0.1:10001: ${result.message}`);
  }
  return () => worker.terminate();
}
