/**
 * The composition root of `weft proxy serve` (ztunnel's app.rs): the only place that wires config,
 * workers, stats, admin and lifecycle together. It binds every listener (in every worker) and the
 * admin endpoint before it reports ready, so bind errors fail startup, and it returns the real bound
 * addresses, so tests can ask for port 0.
 *
 * @example Start on port 0 and stop
 * ```ts
 * const app = await startProxy({ bootstrap, concurrency: 2, … });
 * console.log(app.listeners[0].port, app.admin?.port);
 * await app.shutdown("test done");
 * ```
 * @module
 */
import { EventHub } from "./admin/event_stream.ts";
import { AdminRegistry } from "./admin/registry.ts";
import type { ServerInfo, Snapshot } from "./admin/wire.ts";
import type { Bootstrap, Endpoint } from "./config/types.ts";
import { clusterInfos, registerEdgeAdmin } from "./edge/admin.ts";
import { resolveEndpoints, sameEndpoints } from "./edge/dns.ts";
import type { EdgeSnapshot } from "./edge/snapshot.ts";
import { registerLifecycleAdmin } from "./lifecycle/admin.ts";
import { currentRuntime, workerEntry } from "./runtime/mod.ts";
import type { HttpServer, Runtime } from "./runtime/types.ts";
import { registerStatsAdmin } from "./stats/admin.ts";
import { StatsStore } from "./stats/store.ts";
import { registerWorkerAdmin } from "./worker/admin.ts";
import type { BoundListener } from "./worker/messages.ts";
import { WorkerPool } from "./worker/pool.ts";

export interface ProxyOptions {
  bootstrap: Bootstrap;
  /** The bootstrap as the user wrote it (for /config_dump). */
  rawConfig: unknown;
  /** Where the config came from: a path, or "embedded default". */
  configSource: string;
  concurrency: number;
  version: string;
  /** Dispatcher lag sampling and busy time (on unless benchmarking its cost). */
  instrumentation: boolean;
  testHooks: boolean;
  adminToken: string | null;
  /** How long a drain waits for in-flight requests before closing what is left. */
  drainTimeMs: number;
  /** Start the built-in echo upstream on 127.0.0.1:10001 (the embedded default config uses it). */
  builtinEcho: boolean;
  hotRestartEpoch: number;
  log: (line: string) => void;
}

export interface ProxyApp {
  runtime: Runtime;
  admin: { hostname: string; port: number } | null;
  listeners: BoundListener[];
  /** Drain (listeners close, in-flight requests finish) and stop everything. */
  shutdown(reason: string): Promise<void>;
  /** Resolves once shut down. */
  stopped: Promise<void>;
}

const SNAPSHOT_CONNECTIONS = 500;

export async function startProxy(options: ProxyOptions): Promise<ProxyApp> {
  const runtime = await currentRuntime();
  const startedAt = Date.now();
  const store = new StatsStore();
  const bootstrap = options.bootstrap;
  const flushIntervalMs = bootstrap.statsFlushIntervalMs;
  let state: ServerInfo["state"] = "INITIALIZING";
  let healthCheckFailed = false;
  const stopFns: (() => void | Promise<void>)[] = [];
  const stop = async () => {
    for (const f of stopFns.splice(0).reverse()) await f();
  };

  try {
    // Clusters first, as Envoy warms clusters before listeners: DNS names resolved once up front.
    const endpoints = new Map<string, Endpoint[]>();
    for (const c of bootstrap.clusters) {
      endpoints.set(c.name, await resolveEndpoints(c, (h) => runtime.resolveIPv4(h)).catch((e) => {
        options.log(`cluster ${c.name}: cannot resolve endpoints: ${e instanceof Error ? e.message : e}`);
        return [];
      }));
    }
    let version = 1;
    const snapshot = (): EdgeSnapshot => ({
      version: String(version),
      bootstrap,
      endpoints: Object.fromEntries(endpoints),
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
    });
    stopFns.push(() => pool.terminate());
    const listeners = await pool.start();

    // DNS clusters re-resolve on dns_refresh_rate; a change reaches workers as a new snapshot.
    for (const c of bootstrap.clusters) {
      if (c.type === "STATIC") continue;
      const timer = setInterval(async () => {
        const next = await resolveEndpoints(c, (h) => runtime.resolveIPv4(h)).catch(() => null);
        if (next === null || sameEndpoints(next, endpoints.get(c.name) ?? [])) return;
        endpoints.set(c.name, next);
        version++;
        pool.broadcast(snapshot(), String(version));
      }, c.dnsRefreshRateMs);
      stopFns.push(() => clearInterval(timer));
    }

    const serverStats = () => {
      store.setGauge("server.live", state === "LIVE" ? 1 : 0);
      store.setGauge("server.state", state === "LIVE" ? 0 : state === "DRAINING" ? 1 : 2);
      store.setGauge("server.uptime", Math.floor((Date.now() - startedAt) / 1000));
      store.setGauge("server.concurrency", options.concurrency);
      store.setGauge("server.hot_restart_epoch", options.hotRestartEpoch);
      store.setGauge("server.total_connections", pool.connections().length);
      store.setGauge("server.memory_physical_size", runtime.rss());
      for (const c of bootstrap.clusters) {
        const n = endpoints.get(c.name)?.length ?? 0;
        store.setGauge(`cluster.${c.name}.membership_total`, n);
        store.setGauge(`cluster.${c.name}.membership_healthy`, n);
      }
    };

    const adminAddress = () => (adminServer ? `${adminServer.hostname}:${adminServer.port}` : "");
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
        hotRestartEpoch: options.hotRestartEpoch,
        adminAddress: adminAddress(),
        flushIntervalMs,
        // Envoy's field names, for scripts written against Envoy.
        uptime_current_epoch: `${uptimeS}s`,
        uptime_all_epochs: `${uptimeS}s`,
        hot_restart_version: "weft.reuseport.1",
        command_line_options: { concurrency: options.concurrency, restart_epoch: options.hotRestartEpoch, config_path: options.configSource },
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
    const tick = setInterval(() => {
      serverStats();
      if (hub.size > 0) hub.publish(buildSnapshot(++seq));
      store.rollInterval();
    }, flushIntervalMs);
    stopFns.push(() => clearInterval(tick));

    const clusterView = { clusters: () => bootstrap.clusters, endpoints: (name: string) => endpoints.get(name) ?? [] };
    let shuttingDown: Promise<void> | null = null;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));

    const drain = async () => {
      if (state === "DRAINING") return;
      state = "DRAINING";
      await pool.drain(options.drainTimeMs);
    };
    const shutdown = (reason: string): Promise<void> => {
      shuttingDown ??= (async () => {
        options.log(`shutting down (${reason}): draining for up to ${options.drainTimeMs} ms`);
        await drain();
        await stop();
        resolveStopped();
      })();
      return shuttingDown;
    };

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
      drainListeners: () => void drain(),
      quit: () => void shutdown("POST /quitquitquit"),
      blockWorker: options.testHooks ? (w, ms) => pool.block(w, ms) : null,
    });
    admin.add({
      path: "/config_dump",
      help: "dump the current configuration",
      handle: () =>
        new Response(
          JSON.stringify(
            {
              configs: [
                { "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", bootstrap: options.rawConfig, last_updated: new Date(startedAt).toISOString() },
                { "@type": "type.googleapis.com/weft.admin.ConfigState", source: options.configSource, version: String(version), applied_at: new Date(startedAt).toISOString() },
              ],
            },
            null,
            2,
          ) + "\n",
          { headers: { "content-type": "application/json" } },
        ),
    });

    let adminServer: HttpServer | null = null;
    if (bootstrap.admin !== null) {
      try {
        adminServer = await runtime.serveHttp({ hostname: bootstrap.admin.address, port: bootstrap.admin.port }, (req) => admin.handle(req));
      } catch (e) {
        throw new Error(`admin cannot bind ${bootstrap.admin.address}:${bootstrap.admin.port}: ${e instanceof Error ? e.message : e}`);
      }
      const server = adminServer;
      stopFns.push(() => server.close());
    }

    // The handlers stay installed until exit: removing them mid-shutdown would let Deno apply the
    // default action to a signal it already delivered (the process then dies of SIGTERM, not exit 0).
    for (const sig of ["SIGTERM", "SIGINT"] as const) runtime.onSignal(sig, () => void shutdown(sig));
    state = "LIVE";
    serverStats();
    return {
      runtime,
      admin: adminServer ? { hostname: adminServer.hostname, port: adminServer.port } : null,
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
  const worker = new Worker(workerEntry("src/edge/builtin_echo_worker.ts"), { type: "module", name: "builtin_echo" });
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
