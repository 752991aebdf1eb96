/**
 * `weft tunnel ca init` and `weft tunnel serve`: the ztunnel-style node tunnel.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { isIP } from "node:net";
import process from "node:process";
import { adminTokenOption } from "./admin_token.ts";
import { TEST_HOOKS_ENV, testHooksEnabled } from "../src/admin/test_hooks.ts";
import { currentRuntime } from "../src/runtime/mod.ts";
import { MAX_POOL_OWNER_WORKERS } from "../src/tunnel/pool_owners.ts";
import { VERSION } from "./version.ts";

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
}

const port = (name: string) => int(name, 0, 65535);

/**
 * A listener's address: an IP literal or `localhost`. An empty one (an unset variable in a unit
 * file) made `node:net` listen on every address, admin's included.
 */
function listenAddress(name: string) {
  return (v: string): string => {
    if (v === "localhost" || isIP(v) !== 0) return v;
    throw new InvalidArgumentError(`${name} must be an IP address (or localhost), got "${v}"`);
  };
}

function log(line: string): void {
  console.error(line.startsWith("weft") ? line : `weft tunnel: ${line}`);
}

export function tunnelCommand() {
  const tunnel = new Command("tunnel").description("the ztunnel-style node tunnel (HBONE mTLS between nodes)");

  const ca = new Command("ca").description("a development certificate authority for workload certificates");
  ca.command("init")
    .description("create a root key and certificate (ca-key.pem, ca-cert.pem) in a directory")
    .requiredOption("--dir <dir>", "directory to write to")
    .option("--force", "replace an existing CA")
    .action(async (opts) => {
      const { initCa } = await import("../src/tls/ca.ts");
      try {
        const r = await initCa(opts.dir, { force: Boolean(opts.force) });
        console.log(`wrote ${r.keyPath} and ${r.certPath}`);
      } catch (e) {
        console.error(`weft tunnel ca init: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    });
  tunnel.addCommand(ca);

  tunnel.command("validate")
    .description("check a local config file: prints ok, or every error with file:line:col and YAML path")
    .requiredOption("-c, --config <file>", "ztunnel local config (LOCAL_XDS_PATH format)")
    .action(async (opts) => {
      const { loadLocalConfig } = await import("../src/tunnel/config.ts");
      try {
        const cfg = await loadLocalConfig(opts.config);
        console.log(`ok: ${cfg.workloads.length} workloads, ${cfg.services.length} services, ${cfg.policies.length} policies`);
      } catch (e) {
        console.error((e as Error).message);
        process.exitCode = 1;
      }
    });

  tunnel.command("serve")
    .description("run a node tunnel: admin/metrics/readiness on the main thread, traffic on N workers")
    .requiredOption("-c, --config <file>", "ztunnel local config (LOCAL_XDS_PATH format); reloaded on change and SIGHUP")
    .requiredOption("--node <name>", "this node's name: it hosts the workloads whose `node` is this name")
    .addOption(new Option("--bind <ip>", "this node's own address (metrics, readiness and outbound listeners)").makeOptionMandatory().argParser(listenAddress("--bind")))
    .requiredOption("--ca <dir>", "CA directory made by `weft tunnel ca init`")
    .addOption(new Option("--workers <n>", "data-plane worker threads (default 2)").env("WEFT_WORKER_THREADS").argParser(int("--workers", 1, MAX_POOL_OWNER_WORKERS)))
    .addOption(new Option("--log-format <format>", "access log format").choices(["text", "json"] as const).default("text" as const))
    .addOption(new Option("--admin-address <ip>", "admin listens here only (it can reload and drain the node: keep it local, as ztunnel)").default("127.0.0.1").argParser(listenAddress("--admin-address")))
    .addOption(new Option("--admin-port <port>", "admin port").default(15000).argParser(port("--admin-port")))
    .addOption(adminTokenOption())
    .addOption(new Option("--metrics-port <port>", "metrics port (/metrics, /stats/prometheus)").default(15020).argParser(port("--metrics-port")))
    .addOption(new Option("--readiness-port <port>", "readiness port (/healthz/ready)").default(15021).argParser(port("--readiness-port")))
    .addOption(new Option("--outbound-port <port>", "outbound HTTP CONNECT port").default(15001).argParser(port("--outbound-port")))
    .addOption(new Option("--socks5-port <port>", "outbound SOCKS5 port").default(15080).argParser(port("--socks5-port")))
    .addOption(new Option("--inbound-plaintext-port <port>", "inbound plaintext port on workload IPs").default(15006).argParser(port("--inbound-plaintext-port")))
    .addOption(new Option("--hbone-port <port>", "inbound HBONE port on workload IPs (same on every node)").default(15008).argParser(port("--hbone-port")))
    .addOption(new Option("--termination-deadline-ms <ms>", "drain deadline before force-closing").default(5000).argParser(int("--termination-deadline-ms", 0, 3_600_000)))
    .addOption(new Option("--cert-lifetime-s <s>", "workload certificate lifetime (rotated at half life)").default(86400).argParser(int("--cert-lifetime-s", 2, 365 * 86400)))
    .addOption(new Option("--max-streams <n>", "HTTP/2 streams per pooled HBONE connection").default(100).argParser(int("--max-streams", 1, 10000)))
    .option("--no-watch", "do not reload when the config file changes (SIGHUP still does)")
    .option("--no-preserve-source-ip", "connect to workloads from the node's address instead of the caller's (faster connection setup)")
    .addOption(new Option("--test-hooks", `enable test-only admin hooks (also ${TEST_HOOKS_ENV}=1)`).hideHelp())
    .action(async (opts) => {
      const runtime = await currentRuntime();
      const { startTunnel } = await import("../src/app/tunnel.ts");
      let app;
      try {
        app = await startTunnel({
          configPath: opts.config,
          node: opts.node,
          bind: opts.bind,
          adminAddress: opts.adminAddress,
          adminToken: opts.adminToken ?? null,
          caDir: opts.ca,
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
          logFormat: opts.logFormat,
          ports: {
            admin: opts.adminPort,
            metrics: opts.metricsPort,
            readiness: opts.readinessPort,
            outbound: opts.outboundPort,
            socks5: opts.socks5Port,
            inboundPlaintext: opts.inboundPlaintextPort,
            hbone: opts.hbonePort,
          },
          terminationDeadlineMs: opts.terminationDeadlineMs,
          certLifetimeMs: opts.certLifetimeS * 1000,
          maxStreamsPerConnection: opts.maxStreams,
          watchConfig: opts.watch,
          preserveSourceIp: opts.preserveSourceIp,
          testHooks: testHooksEnabled(opts.testHooks, runtime.env(TEST_HOOKS_ENV)),
          version: VERSION,
          log,
        });
      } catch (e) {
        log(`error: ${(e as Error).message}`);
        return runtime.exit(1);
      }
      runtime.onSignal("SIGHUP", () => void app.reload());
      runtime.onSignal("SIGTERM", () => void app.drain());
      runtime.onSignal("SIGINT", () => void app.drain());
      log(`weft ${VERSION} tunnel node ${opts.node} on ${runtime.version}`);
      // One machine-readable line on stdout with the bound addresses (tests and scripts read it).
      console.log(`weft tunnel: ready ${JSON.stringify(app.addresses)}`);
      await app.done;
      runtime.exit(0);
    });

  return tunnel;
}
