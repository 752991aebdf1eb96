/**
 * `weft inspect`: the tokio-console-style inspector and its non-interactive subcommands.
 *
 * Everything under `tui/` is loaded lazily inside the actions, so the proxy and tunnel never load
 * React or Ink.
 *
 * @module
 */

import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import process from "node:process";

const DEFAULT_URL = "http://127.0.0.1:9901";
const TOKEN_ENV = "WEFT_ADMIN_TOKEN";

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`Cannot use ${name} "${value}": expected a positive number`);
    }
    return n;
  };
}

function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`Cannot use ${name} "${value}": expected a positive whole number`);
    }
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`Cannot use --error-rate "${value}": expected a fraction between 0 and 1, e.g. 0.05`);
  }
  return n;
}

interface ThresholdFlags {
  lagThresholdMs: number;
  imbalance: number;
  imbalanceMinConnections: number;
  errorRate: number;
  errorMinRequests: number;
  queueGrowth: number;
}

function thresholdsOf(o: ThresholdFlags) {
  return {
    lagP99Ms: o.lagThresholdMs,
    imbalance: o.imbalance,
    imbalanceMinConnections: o.imbalanceMinConnections,
    errorRate: o.errorRate,
    errorMinRequests: o.errorMinRequests,
    queueGrowthFlushes: o.queueGrowth,
  };
}

async function adminUrl(url: string | undefined): Promise<string> {
  const { normalizeAdminUrl } = await import("../tui/client/url.ts");
  try {
    return normalizeAdminUrl(url ?? DEFAULT_URL);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

const SUBCOMMANDS = [
  ["workers", "per-worker loop lag, busy, requests/s, connections, tasks, queues, watchdog"],
  ["connections", "open downstream connections (the affinity table) and the imbalance figure"],
  ["tasks", "in-flight tasks and queues"],
  ["stats", "every stat (Envoy names) with its value; with --watch also its rate"],
  ["clusters", "clusters and their hosts: health, requests, 5xx, latency"],
  ["config", "the instance's /config_dump, as PATH VALUE lines or JSON"],
] as const;

/**
 * The `inspect` command, to be added to the `weft` program.
 *
 * @example
 * ```ts
 * program.addCommand(inspectCommand());
 * ```
 */
export function inspectCommand(): Command {
  const inspect = new Command("inspect")
    .summary("attach a terminal inspector to a running weft instance")
    .description(
      "Attach a full-screen, tokio-console-style inspector to a weft instance's admin endpoint (proxy or tunnel):\n" +
        "workers, connections, tasks, stats and clusters, with warnings. Data arrives as server-sent events from\n" +
        "<url>/events. Subcommands print the same data as tables or JSON and exit (they work without a terminal).",
    )
    .argument("[url]", `admin URL of the instance (default ${DEFAULT_URL})`)
    .addOption(new Option("--admin-token <token>", "bearer token for the admin API").env(TOKEN_ENV))
    .option("--record <file>", "also write every snapshot received to a JSONL file")
    .option("--replay <file>", "play a recording back instead of attaching (space pauses, ←/→ step)")
    .option("--speed <factor>", "replay speed", positiveNumber("--speed"), 1)
    .option("--history <n>", "samples kept per worker for sparklines", positiveInteger("--history"), 60)
    .option("--lag-threshold-ms <ms>", "warn when a worker's loop lag p99 is above this", positiveNumber("--lag-threshold-ms"), 50)
    .option("--imbalance <ratio>", "warn when max/mean open connections per worker is above this", positiveNumber("--imbalance"), 2)
    .option(
      "--imbalance-min-connections <n>",
      "…with at least this many open connections",
      positiveInteger("--imbalance-min-connections"),
      8,
    )
    .option("--error-rate <fraction>", "warn when a cluster's upstream 5xx share is above this", fraction, 0.05)
    .option("--error-min-requests <n>", "…over at least this many requests", positiveInteger("--error-min-requests"), 20)
    .option("--queue-growth <flushes>", "warn when a queue grew over this many flushes", positiveInteger("--queue-growth"), 5)
    .addHelpText(
      "after",
      "\nKeys: 1-5 or tab views · ↑/↓ j/k move · ←/→ h/l sort column · i invert · enter details · esc back\n" +
        "      / filter · space pause · p switch pane · ? help · q quit\n\n" +
        "Examples:\n" +
        "  weft inspect\n" +
        "  weft inspect http://10.0.0.5:9901\n" +
        "  weft inspect --record session.jsonl\n" +
        "  weft inspect --replay session.jsonl\n" +
        "  weft inspect workers --watch\n" +
        "  weft inspect connections --replay session.jsonl --json\n" +
        "  weft inspect stats --filter '^cluster\\.api\\.' --json",
    )
    .action(async (url, opts) => {
      const base = await adminUrl(url);
      const { runInspector } = await import("../tui/run.tsx");
      process.exitCode = await runInspector({
        url: base,
        token: opts.adminToken,
        record: opts.record,
        replay: opts.replay,
        speed: opts.speed,
        historyLimit: opts.history,
        thresholds: thresholdsOf(opts),
      });
    });

  for (const [name, about] of SUBCOMMANDS) {
    inspect
      .command(name)
      .description(`print ${about}`)
      .argument("[url]", `admin URL of the instance (default ${DEFAULT_URL})`)
      .option("--json", "print JSON (the admin API's shapes; one document per line with --watch)")
      .option("--watch", "reprint on every stats flush until interrupted")
      .option("--filter <regex>", "only rows matching this regular expression (case-insensitive unless it has capitals)")
      .action(async (url, opts, cmd) => {
        const parent = cmd.optsWithGlobals() as unknown as ThresholdFlags & { adminToken?: string; replay?: string };
        const base = await adminUrl(url);
        const { runPrint } = await import("../tui/print/run.ts");
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once("SIGINT", onSigint);
        try {
          process.exitCode = await runPrint({
            kind: name,
            url: base,
            token: parent.adminToken,
            json: opts.json ?? false,
            watch: opts.watch ?? false,
            filter: opts.filter,
            thresholds: thresholdsOf(parent),
            signal: abort.signal,
            replay: parent.replay,
          });
        } finally {
          process.off("SIGINT", onSigint);
        }
      });
  }
  return inspect as unknown as Command;
}
