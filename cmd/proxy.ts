/**
 * `weft proxy serve` and `weft proxy validate`.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { startProxy } from "../src/app.ts";
import { currentRuntime } from "../src/runtime/mod.ts";
import { loadBootstrap } from "./config_loader.ts";
import { VERSION } from "./version.ts";

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`${name} must be an integer from 1 to 1024, got "${v}"`);
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
    .addOption(new Option("--concurrency <n>", "number of worker threads (default: number of CPUs)").argParser(positiveInt("--concurrency")))
    .addOption(new Option("--admin-token <token>", "require 'Authorization: Bearer <token>' on every admin path").env("WEFT_ADMIN_TOKEN"))
    .addOption(new Option("--drain-time-s <seconds>", "how long a drain waits for in-flight requests").default(10).argParser(Number))
    .option("--no-instrumentation", "turn off loop-lag sampling and busy time (benchmarks of their cost)")
    .addOption(new Option("--test-hooks", "enable test-only admin hooks").env("WEFT_TEST_HOOKS").hideHelp())
    .action(async (opts) => {
      const runtime = await currentRuntime();
      const loaded = await loadBootstrap(runtime, opts.configPath);
      if (!loaded.ok) {
        for (const m of loaded.messages) console.error(m);
        return runtime.exit(1);
      }
      const concurrency = opts.concurrency ?? runtime.cpuCount();
      try {
        const app = await startProxy({
          bootstrap: loaded.bootstrap,
          rawConfig: loaded.raw,
          configSource: loaded.source,
          concurrency,
          version: VERSION,
          instrumentation: opts.instrumentation,
          testHooks: Boolean(opts.testHooks),
          adminToken: opts.adminToken ?? null,
          drainTimeMs: Math.max(0, opts.drainTimeS) * 1000,
          builtinEcho: opts.configPath === undefined,
          hotRestartEpoch: 0,
          log,
        });
        log(`weft ${VERSION} proxy on ${runtime.version}, ${concurrency} workers, config: ${loaded.source}`);
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
      const loaded = await loadBootstrap(runtime, opts.configPath);
      if (!loaded.ok) {
        for (const m of loaded.messages) console.error(m);
        return runtime.exit(1);
      }
      console.log("ok");
    });

  return proxy;
}
