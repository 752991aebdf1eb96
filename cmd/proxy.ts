/**
 * `weft proxy serve` and `weft proxy validate`.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { adminTokenOption } from "./admin_token.ts";
import { TEST_HOOKS_ENV, testHooksEnabled } from "../src/admin/test_hooks.ts";
import { startProxy } from "../src/app/proxy.ts";
import { loadBootstrap } from "../src/config/load.ts";
import { currentRuntime } from "../src/runtime/mod.ts";
import { VERSION } from "./version.ts";

function integer(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
}

function log(line: string): void {
  console.error(`weft: ${line}`);
}

export function proxyCommand() {
  const proxy = new Command("proxy").description("the Envoy-style edge proxy");

  proxy
    .command("serve")
    .description("run the proxy: a main thread (config, admin, stats) and N workers that own the connections")
    .option("-c, --config-path <file>", "Envoy v3 bootstrap (YAML or JSON); without it, the embedded default config")
    .addOption(new Option("--concurrency <n>", "number of worker threads (default: number of CPUs)").argParser(integer("--concurrency", 1, 1024)))
    .addOption(adminTokenOption())
    .addOption(new Option("--restart-epoch <n>", "hot restart epoch: epoch N+1 takes over from the running epoch N").default(0).argParser(integer("--restart-epoch", 0, 1_000_000)))
    .addOption(new Option("--base-id <n>", "names the hot restart control sockets, so several weft instances can coexist").default(0).argParser(integer("--base-id", 0, 1_000_000)))
    .addOption(new Option("--drain-time-s <s>", "drain time: hot restart, listener removal, and how long shutdown waits for in-flight requests").default(600).argParser(integer("--drain-time-s", 0, 86_400)))
    .addOption(new Option("--parent-shutdown-time-s <s>", "a hot restart parent exits this long after the handover").default(900).argParser(integer("--parent-shutdown-time-s", 0, 86_400)))
    .addOption(new Option("--drain-strategy <strategy>", "gradual: close connections with a probability growing over the drain time; immediate: at once").choices(["gradual", "immediate"] as const).default("gradual" as const))
    .option("--watch-config", "reload when the config file changes (also: SIGHUP, POST /reload)")
    .option("--no-instrumentation", "turn off loop-lag sampling, busy time and the task table (benchmarks of their cost)")
    .addOption(new Option("--test-hooks", `enable test-only admin hooks (also ${TEST_HOOKS_ENV}=1)`).hideHelp())
    .action(async (opts) => {
      const runtime = await currentRuntime();
      const path = opts.configPath ?? null;
      const loaded = await loadBootstrap(path);
      if (!loaded.ok) {
        for (const m of loaded.messages) console.error(m);
        return runtime.exit(1);
      }
      const concurrency = opts.concurrency ?? runtime.cpuCount();
      try {
        const app = await startProxy({
          config: loaded,
          reloadConfig: path === null ? null : () => loadBootstrap(path),
          concurrency,
          version: VERSION,
          instrumentation: opts.instrumentation,
          testHooks: testHooksEnabled(opts.testHooks, runtime.env(TEST_HOOKS_ENV)),
          adminToken: opts.adminToken ?? null,
          drainTimeMs: opts.drainTimeS * 1000,
          parentShutdownTimeMs: opts.parentShutdownTimeS * 1000,
          drainStrategy: opts.drainStrategy,
          builtinEcho: path === null,
          baseId: opts.baseId,
          restartEpoch: opts.restartEpoch,
          watchConfig: Boolean(opts.watchConfig),
          log,
        });
        log(`weft ${VERSION} proxy on ${runtime.version}, ${concurrency} workers, epoch ${opts.restartEpoch}, config: ${loaded.source}`);
        for (const l of app.listeners) log(`listener ${l.name} on http://${l.hostname}:${l.port}`);
        if (app.admin) log(`admin on http://${app.admin.hostname}:${app.admin.port}`);
        log("ready");
        await app.stopped;
        log("stopped");
        runtime.exit(0);
      } catch (e) {
        log(`error: ${e instanceof Error ? e.message : e}`);
        runtime.exit(1);
      }
    });

  proxy
    .command("validate")
    .description("check a bootstrap like `envoy --mode validate`: prints ok, or every error with path, line and column")
    .requiredOption("-c, --config-path <file>", "Envoy v3 bootstrap (YAML or JSON)")
    .action(async (opts) => {
      const runtime = await currentRuntime();
      const loaded = await loadBootstrap(opts.configPath);
      if (!loaded.ok) {
        for (const m of loaded.messages) console.error(m);
        return runtime.exit(1);
      }
      console.log("ok");
    });

  return proxy;
}
