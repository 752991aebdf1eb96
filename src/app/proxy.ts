/**
 * The composition root of `weft proxy serve` (ztunnel's app.rs): the only place that wires config,
 * workers, stats, admin and lifecycle together. {@link startProxy} is a short sequence of named
 * steps (see `README.md` beside this file): it binds every listener (in every worker) and the admin
 * endpoint before it reports ready, so bind errors fail startup, and it returns the real bound
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
import { EventHub } from "../admin/event_stream.ts";
import { AdminRegistry, json, text } from "../admin/registry.ts";
import type { ServerInfo, Snapshot } from "../admin/wire.ts";
import { formatHostPort } from "../config/address.ts";
import type { LoadedBootstrap, LoadResult } from "../config/load.ts";
import type { Bootstrap, Cluster, Endpoint } from "../config/types.ts";
import { clusterInfos, registerEdgeAdmin } from "../edge/admin.ts";
import { registerRuntimeAdmin } from "../edge/runtime_admin.ts";
import { clearWorkerRow, createLimitsBuffer, MAX_LISTENERS } from "../edge/connection_limits.ts";
import { DnsRefresher, resolveEndpoints } from "../edge/dns.ts";
import type { EdgeSnapshot } from "../edge/snapshot.ts";
import { registerLifecycleAdmin } from "../lifecycle/admin.ts";
import { controlSocketPath, HotRestartListener, ParentLink } from "../lifecycle/hot_restart.ts";
import { watchFile } from "../lifecycle/watch.ts";
import { currentRuntime, newWorker, workerEntry } from "../runtime/mod.ts";
import type { HttpServer, Runtime } from "../runtime/types.ts";
import { registerStatsAdmin } from "../stats/admin.ts";
import { StatsStore } from "../stats/store.ts";
import { registerWorkerAdmin } from "../worker/admin.ts";
import type { BoundListener, DrainOptions } from "../worker/messages.ts";
import { WorkerPool } from "../worker/pool.ts";

/** What `weft proxy serve` starts with: the validated config and the command line's options. */
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

/** A started proxy: its real bound addresses, and how to stop it. */
export interface ProxyApp {
  runtime: Runtime;
  admin: { hostname: string; port: number } | null;
  listeners: BoundListener[];
  /** Drain (listeners close, in-flight requests finish) and stop everything. */
  shutdown(reason: string): Promise<void>;
  /** Resolves once shut down (by a signal, /quitquitquit, or a hot restart handover). */
  stopped: Promise<void>;
}

/**
 * Starts the proxy: config → main-thread services → workers (each binds every listener) → config
 * updates and stats → admin, bound after a hot-restart parent let go of it → hot restart and
 * signals → ready, with the real bound addresses.
 */
export async function startProxy(options: ProxyOptions): Promise<ProxyApp> {
  const main = new ProxyMain(await currentRuntime(), options);
  try {
    await warmClusters(main);
    await startMainThreadServices(main);
    const { pool, listeners } = await startWorkers(main);
    const reload = startConfigUpdates(main, pool);
    const events = startStatsPublishing(main, pool);
    const lifecycle = lifecycleControls(main, pool);
    const admin = adminRegistry(main, pool, events, lifecycle, reload);
    const parent = await takeOverFromParent(main);
    await bindAdmin(main, admin, events);
    await listenForNextEpoch(main, lifecycle, events);
    await parent?.drain({
      drainTimeMs: options.drainTimeMs,
      parentShutdownTimeMs: options.parentShutdownTimeMs,
      strategy: options.drainStrategy,
    });
    handleSignalsAndFileChanges(main, lifecycle, reload);
    return reportReady(main, pool, listeners, lifecycle);
  } catch (e) {
    await main.stop();
    throw e;
  }
}

/** The last reload attempt, for /config_dump. */
interface ReloadAttempt {
  at: string;
  trigger: string;
  ok: boolean;
  errors: string[];
}

/** Re-reads the config file and applies it when valid; `trigger` says why (SIGHUP, POST /reload…). */
type Reload = (trigger: string) => Promise<ReloadAttempt>;

/** The live snapshots behind `/events` and `/workers`' snapshot, and the stats interval's tick. */
interface StatsEvents {
  hub: EventHub<Snapshot>;
  /** The last published snapshot's sequence number. */
  seq(): number;
  /** Builds the inspector's snapshot number `seq` (its `dropped` filled in by the stream). */
  buildSnapshot(seq: number): (dropped: number) => Snapshot;
}

/** How the proxy stops: draining listeners, shutting down, or handing over to a new epoch. */
interface LifecycleControls {
  drain(drainOptions: DrainOptions): Promise<void>;
  /** Drain with `drainOptions`, then stop everything; the first call's options win. */
  finish(reason: string, drainOptions: DrainOptions): Promise<void>;
  /** SIGTERM's, /quitquitquit's and the tests': close idle connections, wait up to --drain-time-s. */
  shutdown(reason: string): Promise<void>;
  /** The options `shutdown` drains with. */
  shutdownDrain: DrainOptions;
  stopped: Promise<void>;
}

/** How many connections a live snapshot carries (the most recently active). */
const SNAPSHOT_CONNECTIONS = 500;

/**
 * What the main thread owns and every step shares: the running config, its endpoints and version,
 * the stats store, the server's state, the admin server and hot-restart listener once bound, and
 * what to stop (in reverse order) on shutdown or a failed start.
 */
class ProxyMain {
  readonly startedAt = Date.now();
  readonly store = new StatsStore();
  config: LoadedBootstrap;
  bootstrap: Bootstrap;
  /** Fixed at start: a reload cannot change it. */
  readonly flushIntervalMs: number;
  state: ServerInfo["state"] = "INITIALIZING";
  healthCheckFailed = false;
  readonly endpoints = new Map<string, Endpoint[]>();
  version = 1;
  appliedAt: string;
  lastAttempt: ReloadAttempt | null = null;
  /** Each listener's row in the shared connection-limits buffer, by name. */
  readonly listenerIndex = new Map<string, number>();
  readonly limits: ReturnType<typeof createLimitsBuffer>;
  /** Ports main picked for `port_value: 0` listeners added by a reload. */
  readonly resolvedPorts: Record<string, number> = {};
  adminServer: HttpServer | null = null;
  hotRestart: HotRestartListener | null = null;
  readonly #stopFns: (() => void | Promise<void>)[] = [];

  constructor(readonly runtime: Runtime, readonly options: ProxyOptions) {
    this.config = options.config;
    this.bootstrap = options.config.bootstrap;
    this.flushIntervalMs = this.bootstrap.statsFlushIntervalMs;
    this.appliedAt = new Date(this.startedAt).toISOString();
    this.limits = createLimitsBuffer(options.concurrency);
    this.indexListeners(this.bootstrap);
  }

  /** Runs `fn` when the proxy stops, before what was registered earlier. */
  onStop(fn: () => void | Promise<void>): void {
    this.#stopFns.push(fn);
  }

  async stop(): Promise<void> {
    for (const f of this.#stopFns.splice(0).reverse()) await f();
  }

  /** Gives listeners not seen before a row in the connection-limits buffer. */
  indexListeners(b: Bootstrap): void {
    for (const l of b.listeners) {
      if (!this.listenerIndex.has(l.name) && this.listenerIndex.size < MAX_LISTENERS) {
        this.listenerIndex.set(l.name, this.listenerIndex.size);
      }
    }
  }

  /** Resolves every cluster's endpoints; a cluster whose names do not resolve gets none (logged). */
  async resolveAll(b: Bootstrap): Promise<Map<string, Endpoint[]>> {
    const out = new Map<string, Endpoint[]>();
    for (const c of b.clusters) {
      out.set(
        c.name,
        await resolveEndpoints(c, (h) => this.runtime.resolveIPv4(h)).catch((e) => {
          this.options.log(`cluster ${c.name}: cannot resolve endpoints: ${e instanceof Error ? e.message : e}`);
          return [];
        }),
      );
    }
    return out;
  }

  /** The immutable snapshot workers run on. */
  snapshot(): EdgeSnapshot {
    return {
      resolvedPorts: this.resolvedPorts,
      version: String(this.version),
      bootstrap: this.bootstrap,
      endpoints: Object.fromEntries(this.endpoints),
      listenerIndex: Object.fromEntries(this.listenerIndex),
      limits: this.limits,
    };
  }

  /** The clusters and their current endpoints, for `/clusters` and the snapshot. */
  readonly clusterView = {
    clusters: () => this.bootstrap.clusters,
    endpoints: (name: string) => this.endpoints.get(name) ?? [],
  };

  counters(): Record<string, number> {
    return Object.fromEntries(this.store.counters);
  }

  /** `/server_info`, with Envoy's field names beside weft's. */
  serverInfo(): ServerInfo & Record<string, unknown> {
    const { options } = this;
    const uptimeS = Math.floor((Date.now() - this.startedAt) / 1000);
    return {
      mode: "proxy",
      version: options.version,
      runtime: this.runtime.version,
      state: this.state,
      uptimeS,
      concurrency: options.concurrency,
      pid: this.runtime.pid,
      hotRestartEpoch: options.restartEpoch,
      adminAddress: this.adminServer ? `${this.adminServer.hostname}:${this.adminServer.port}` : "",
      flushIntervalMs: this.flushIntervalMs,
      // Envoy's field names, for scripts written against Envoy.
      uptime_current_epoch: `${uptimeS}s`,
      uptime_all_epochs: `${uptimeS}s`,
      hot_restart_version: "weft.reuseport.1",
      command_line_options: {
        concurrency: options.concurrency,
        restart_epoch: options.restartEpoch,
        base_id: options.baseId,
        config_path: this.config.source,
        drain_time_s: options.drainTimeMs / 1000,
        parent_shutdown_time_s: options.parentShutdownTimeMs / 1000,
        drain_strategy: options.drainStrategy,
      },
      health_check_failed: this.healthCheckFailed,
      node: this.config.bootstrap.node,
    };
  }
}

/** Clusters first, as Envoy warms clusters before listeners: DNS names resolved up front. */
async function warmClusters(main: ProxyMain): Promise<void> {
  for (const [k, v] of await main.resolveAll(main.bootstrap)) main.endpoints.set(k, v);
}

/** What runs on the main thread besides admin: the built-in echo upstream, when asked for. */
async function startMainThreadServices(main: ProxyMain): Promise<void> {
  if (main.options.builtinEcho) main.onStop(await startBuiltinEcho());
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

/**
 * Starts the workers; resolves once every worker bound every listener (a bind error rejects), with
 * the listeners' real addresses.
 */
async function startWorkers(main: ProxyMain): Promise<{ pool: WorkerPool; listeners: BoundListener[] }> {
  const { options } = main;
  const pool = new WorkerPool({
    count: options.concurrency,
    entry: workerEntry("src/edge/worker_main.ts"),
    flushIntervalMs: main.flushIntervalMs,
    instrumentation: options.instrumentation,
    testHooks: options.testHooks,
    watchdog: main.bootstrap.watchdog,
    stats: main.store,
    payload: () => main.snapshot(),
    log: options.log,
    onWorkerReplaced: (id) => clearWorkerRow(main.limits, id),
    // Envoy's kill and multikill abort the process: a stuck worker means it is not healthy.
    onWatchdogKill: (reason) => {
      options.log(reason);
      main.runtime.exit(1);
    },
  });
  main.onStop(() => pool.terminate());
  return { pool, listeners: await pool.start() };
}

/**
 * How a new config reaches workers: DNS clusters re-resolved on `dns_refresh_rate`, and live
 * reloads, each posted as a new snapshot. Returns the reload.
 */
function startConfigUpdates(main: ProxyMain, pool: WorkerPool): Reload {
  const { options, runtime, store } = main;
  const broadcast = async () => {
    main.version++;
    main.appliedAt = new Date().toISOString();
    const results = await pool.broadcast(main.snapshot(), String(main.version));
    return results.flatMap((r) => r.errors);
  };

  const dns = new DnsRefresher((h) => runtime.resolveIPv4(h));
  for (const c of main.bootstrap.clusters) dns.resolved(c.name, Date.now());
  let dnsBusy = false;
  const dnsTimer = setInterval(async () => {
    if (dnsBusy) return;
    dnsBusy = true;
    try {
      if (await dns.refresh(main.bootstrap.clusters, main.endpoints, Date.now())) await broadcast();
    } finally {
      dnsBusy = false;
    }
  }, 250);
  main.onStop(() => clearInterval(dnsTimer));

  /**
   * Live reload: validate the file on main; an invalid one changes nothing and is reported (log,
   * /config_dump, `server.reload_rejected`); a valid one reaches workers as a new snapshot.
   */
  return async (trigger) => {
    const at = new Date().toISOString();
    const loaded: LoadResult = options.reloadConfig === null
      ? { ok: false, messages: ["there is no config file to reload (weft runs the embedded default)"] }
      : await options.reloadConfig();
    if (!loaded.ok) {
      store.addCounter("server.reload_rejected");
      main.lastAttempt = { at, trigger, ok: false, errors: loaded.messages };
      options.log(`reload (${trigger}) rejected; the running config is unchanged:\n  ${loaded.messages.join("\n  ")}`);
      return main.lastAttempt;
    }
    const next = loaded.bootstrap;
    if (next.statsFlushIntervalMs !== main.bootstrap.statsFlushIntervalMs) {
      options.log("reload: stats_flush_interval changes need a restart; keeping the running value");
    }
    const nextEndpoints = await main.resolveAll(next);
    const removedClusters = main.bootstrap.clusters.filter((c) => !next.clusters.some((n) => n.name === c.name));
    main.config = loaded;
    main.bootstrap = { ...next, statsFlushIntervalMs: main.bootstrap.statsFlushIntervalMs };
    main.endpoints.clear();
    for (const [k, v] of nextEndpoints) main.endpoints.set(k, v);
    main.indexListeners(main.bootstrap);
    for (const l of main.bootstrap.listeners) {
      if (l.address.port === 0 && !pool.listeners.some((b) => b.name === l.name)) {
        main.resolvedPorts[l.name] = await runtime.freePort(l.address.address);
        pool.setResolvedPort(l.name, main.resolvedPorts[l.name]!);
      }
    }
    const errors = await broadcast();
    forgetClusterStats(store, removedClusters, next.clusters);
    store.addCounter("server.reload_success");
    main.lastAttempt = { at, trigger, ok: errors.length === 0, errors };
    options.log(`reload (${trigger}) applied: config version ${main.version}${errors.length ? `; ${errors.join("; ")}` : ""}`);
    return main.lastAttempt;
  };
}

/**
 * A removed cluster's `cluster.<name>.*` stats go with it, as in Envoy: main's own (membership) and
 * whatever workers flushed, including a worker since replaced, which can no longer say it dropped
 * them. Called once the workers dropped theirs (they tell main too, which covers a flush in transit).
 */
function forgetClusterStats(store: StatsStore, removed: readonly Cluster[], remaining: readonly Cluster[]): void {
  const keep = remaining.map((c) => `cluster.${c.name}.`);
  for (const c of removed) store.removeScope(`cluster.${c.name}.`, keep);
}

/** Sets the `server.*` and cluster membership gauges from what main knows now. */
function updateServerStats(main: ProxyMain, pool: WorkerPool): void {
  const { store, state } = main;
  store.setGauge("server.live", state === "LIVE" ? 1 : 0);
  store.setGauge("server.state", state === "LIVE" ? 0 : state === "DRAINING" ? 1 : 2);
  store.setGauge("server.uptime", Math.floor((Date.now() - main.startedAt) / 1000));
  store.setGauge("server.concurrency", main.options.concurrency);
  store.setGauge("server.hot_restart_epoch", main.options.restartEpoch);
  store.setGauge("server.total_connections", pool.connections().length);
  store.setGauge("server.memory_physical_size", main.runtime.rss());
  for (const c of main.bootstrap.clusters) {
    const n = main.endpoints.get(c.name)?.length ?? 0;
    store.setGauge(`cluster.${c.name}.membership_total`, n);
    store.setGauge(`cluster.${c.name}.membership_healthy`, n);
  }
}

/**
 * Every `stats_flush_interval`: the server gauges, a live snapshot to `/events` subscribers, the
 * histograms' interval rolled, and (while draining after a handover) counters to the next epoch.
 */
function startStatsPublishing(main: ProxyMain, pool: WorkerPool): StatsEvents {
  const { store } = main;
  store.addCounter("server.reload_success", 0);
  store.addCounter("server.reload_rejected", 0);

  const buildSnapshot = (seq: number) => (dropped: number): Snapshot => {
    const all = pool.connections();
    all.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
    return {
      seq,
      at: Date.now(),
      server: main.serverInfo(),
      workers: pool.workers(),
      connections: all.slice(0, SNAPSHOT_CONNECTIONS),
      connectionsTotal: all.length,
      tasks: pool.tasks(),
      tasksTotal: pool.tasksTotal(),
      queues: pool.queues(),
      stats: Object.fromEntries(store.values()),
      histograms: store.histogramSummaries(),
      clusters: clusterInfos(main.clusterView, store),
      dropped,
    };
  };

  const hub = new EventHub<Snapshot>();
  main.onStop(() => hub.close());
  let seq = 0;
  const tick = setInterval(() => {
    updateServerStats(main, pool);
    if (hub.size > 0) hub.publish(buildSnapshot(++seq));
    store.rollInterval();
    if (main.state === "DRAINING") main.hotRestart?.sendStats(main.counters());
  }, main.flushIntervalMs);
  main.onStop(() => clearInterval(tick));
  return { hub, seq: () => seq, buildSnapshot };
}

/** Drain, shutdown and the handover's finish; `stopped` resolves once everything stopped. */
function lifecycleControls(main: ProxyMain, pool: WorkerPool): LifecycleControls {
  let shuttingDown: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const drain = async (drainOptions: DrainOptions) => {
    if (main.state === "DRAINING") return;
    main.state = "DRAINING";
    await pool.drain(drainOptions);
  };
  const shutdownDrain: DrainOptions = {
    closeIdle: true,
    strategy: "immediate",
    drainTimeMs: 0,
    deadlineMs: main.options.drainTimeMs,
  };
  const finish = (reason: string, drainOptions: DrainOptions): Promise<void> => {
    shuttingDown ??= (async () => {
      main.options.log(`shutting down (${reason}): draining for up to ${Math.round(drainOptions.deadlineMs / 1000)} s`);
      await drain(drainOptions);
      main.hotRestart?.sendStats(main.counters());
      await main.stop();
      resolveStopped();
    })();
    return shuttingDown;
  };
  const shutdown = (reason: string) => finish(reason, shutdownDrain);
  return { drain, finish, shutdown, shutdownDrain, stopped };
}

/** The admin endpoint's handlers: each subsystem adds its own paths; `/reload` and `/config_dump` are the root's. */
function adminRegistry(
  main: ProxyMain,
  pool: WorkerPool,
  events: StatsEvents,
  lifecycle: LifecycleControls,
  reload: Reload,
): AdminRegistry {
  const { options, store } = main;
  const fresh = async () => {
    await pool.flushNow();
    updateServerStats(main, pool);
  };
  const admin = new AdminRegistry({ token: options.adminToken });
  registerStatsAdmin(admin, store, fresh);
  registerWorkerAdmin(admin, pool, events.hub, (dropped) => events.buildSnapshot(events.seq())(dropped), fresh);
  registerEdgeAdmin(admin, main.clusterView, store, () => pool.listeners, fresh);
  registerRuntimeAdmin(admin, () => main.bootstrap.runtime);
  registerLifecycleAdmin(admin, {
    serverInfo: () => main.serverInfo(),
    state: () => main.state,
    setHealthCheckFailed: (f) => (main.healthCheckFailed = f),
    drainListeners: () => void lifecycle.drain({ ...lifecycle.shutdownDrain, deadlineMs: options.drainTimeMs }),
    quit: () => void lifecycle.shutdown("POST /quitquitquit"),
    blockWorker: options.testHooks ? (w, ms) => pool.block(w, ms) : null,
    crashWorker: options.testHooks ? (w) => pool.crash(w) : null,
  });
  admin.add({
    path: "/reload",
    method: "POST",
    help: "re-read the bootstrap file and apply it if valid (also SIGHUP)",
    async handle() {
      const r = await reload("POST /reload");
      return r.ok
        ? text(200, `OK: config version ${main.version}\n`)
        : text(400, `reload rejected; the running config is unchanged:\n${r.errors.join("\n")}\n`);
    },
  });
  admin.add({
    path: "/config_dump",
    help: "dump the current configuration, its version and the last reload attempt",
    handle: () =>
      json({
        configs: [
          { "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", bootstrap: main.config.raw, last_updated: main.appliedAt },
          {
            "@type": "type.googleapis.com/weft.admin.ConfigState",
            source: main.config.source,
            version: String(main.version),
            applied_at: main.appliedAt,
            last_reload_attempt: main.lastAttempt,
          },
        ],
      }),
  });
  return admin;
}

/**
 * Hot restart, child side: finds the previous epoch on its control socket and has it give up the
 * admin address before we bind it. Null at epoch 0 or when no parent answers.
 */
async function takeOverFromParent(main: ProxyMain): Promise<ParentLink | null> {
  const { options, store } = main;
  if (options.restartEpoch === 0) return null;
  const parent = await ParentLink.connect(
    controlSocketPath(options.baseId, options.restartEpoch - 1),
    (name, delta) => store.addCounter(name, delta),
  );
  if (parent === null) options.log(`restart epoch ${options.restartEpoch}: no parent answers on its control socket; starting fresh`);
  else if (!(await parent.releaseAdmin())) options.log("hot restart: the parent did not release its admin endpoint in time");
  return parent;
}

/** Binds the admin endpoint where `admin.address` says (a bind error fails startup). */
async function bindAdmin(main: ProxyMain, admin: AdminRegistry, events: StatsEvents): Promise<void> {
  const address = main.bootstrap.admin;
  if (address !== null) {
    try {
      main.adminServer = await main.runtime.serveHttp({ hostname: address.address, port: address.port }, (req) => admin.handle(req));
      admin.servedAt(formatHostPort(main.adminServer.hostname, main.adminServer.port));
    } catch (e) {
      throw new Error(`admin cannot bind ${address.address}:${address.port}: ${e instanceof Error ? e.message : e}`);
    }
  }
  main.onStop(() => releaseAdmin(main, events));
}

/** Closes the admin endpoint and its event streams (at stop, or when the next epoch asks for it). */
async function releaseAdmin(main: ProxyMain, events: StatsEvents): Promise<void> {
  const server = main.adminServer;
  main.adminServer = null;
  events.hub.close();
  await server?.close();
}

/** Hot restart, parent side: the next epoch finds us on our control socket. */
async function listenForNextEpoch(main: ProxyMain, lifecycle: LifecycleControls, events: StatsEvents): Promise<void> {
  const { options } = main;
  const listener = await HotRestartListener.listen(controlSocketPath(options.baseId, options.restartEpoch), {
    releaseAdmin: () => releaseAdmin(main, events),
    counters: () => main.counters(),
    drain: (request) => {
      options.log(`hot restart: epoch ${options.restartEpoch + 1} took over; draining (${request.strategy}) for ${request.drainTimeMs / 1000} s`);
      void lifecycle.finish("hot restart", {
        closeIdle: false,
        strategy: request.strategy,
        drainTimeMs: request.drainTimeMs,
        deadlineMs: request.parentShutdownTimeMs,
      });
    },
  });
  main.hotRestart = listener;
  main.onStop(() => listener.close());
}

/** SIGTERM and SIGINT shut down, SIGHUP reloads, and so does a change of the file with --watch-config. */
function handleSignalsAndFileChanges(main: ProxyMain, lifecycle: LifecycleControls, reload: Reload): void {
  const { options, runtime } = main;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    // The handlers stay installed until exit: removing them mid-shutdown would let Deno apply the
    // default action to a signal it already delivered (the process then dies of SIGTERM, not exit 0).
    runtime.onSignal(sig, () => void lifecycle.shutdown(sig));
  }
  runtime.onSignal("SIGHUP", () => void reload("SIGHUP"));
  if (options.watchConfig && main.config.source !== "embedded default") {
    main.onStop(watchFile(main.config.source, () => void reload("file changed")));
  }
}

/** Every listener and admin are bound: LIVE, with the real bound addresses. */
function reportReady(main: ProxyMain, pool: WorkerPool, listeners: BoundListener[], lifecycle: LifecycleControls): ProxyApp {
  main.state = "LIVE";
  updateServerStats(main, pool);
  const admin = main.adminServer;
  return {
    runtime: main.runtime,
    admin: admin ? { hostname: admin.hostname, port: admin.port } : null,
    listeners,
    shutdown: lifecycle.shutdown,
    stopped: lifecycle.stopped,
  };
}
