/**
 * Tunnel benchmark: bulk throughput (one connection, upload to EOF) and connection setup rate
 * (connect, handshake, 1 byte, answer, close; `--concurrency` at once) for four paths:
 *
 * - direct: client → backend
 * - haproxy: client → haproxy `mode tcp` (nbthread = workers) → backend
 * - weft-tcp: client → weft node-a HTTP CONNECT → backend (a workload with protocol TCP: plain relay)
 * - weft-hbone: client → weft node-a HTTP CONNECT → HBONE (mTLS HTTP/2) → weft node-b → backend
 * - tls-floor: client → relay → mutual TLS 1.3 → relay → backend, both relays bare `node:tls` + `pipe`
 *   on the tunnels' runtime (`_floor.ts`): what that runtime's TLS allows any HBONE to reach
 * - tcp-floor: client → one bare `node:net` relay (`pipe`) → backend, on the tunnels' runtime: what
 *   the plain relay (weft-tcp) could reach on it
 *
 * Rounds are interleaved; each path's figure against haproxy is the median of its per-round ratios
 * (path ÷ haproxy in the same round), as the proxy harness does. A bulk run whose answer never comes
 * back (the EOF was lost) is not retried: it counts as a failed run of its path, its round has no
 * ratio, and a target is met only by a path with no failed run. The client runs in this process;
 * the backend, haproxy and the tunnels in their own processes, all on loopback.
 *
 * Usage: `deno run -A bench/tunnel/bench.ts [--runtime deno|bun] [--rounds 3] [--mib 512]
 *         [--seconds 3] [--concurrency 16] [--workers 2] [--paths a,b] [--logs dir]
 *         [--out bench/tunnel/results/x.json]`
 *
 * @module
 */

import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ConnectionsResponse } from "../../src/admin/wire.ts";
import { initCa, loadCa } from "../../src/tls/ca.ts";
import { option } from "../argv.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = fileURLToPath(new URL("../../test/tunnel/_entry.ts", import.meta.url));
const BACKEND = fileURLToPath(new URL("./_backend.ts", import.meta.url));
const FLOOR_SCRIPT = fileURLToPath(new URL("./_floor.ts", import.meta.url));

const runtime = option("runtime", process.versions.bun ? "bun" : "deno");
const rounds = Number(option("rounds", "3"));
const MiB = 1 << 20;
const bulkBytes = Number(option("mib", "512")) * MiB;
const seconds = Number(option("seconds", "3"));
const concurrency = Number(option("concurrency", "16"));
const workers = Number(option("workers", "2"));
const out = option("out", "");
const only = option("paths", "").split(",").filter(Boolean);
/** Where every child's output goes in full (default: dropped once the child is ready). */
const logDir = option("logs", "");
/** Extra `weft tunnel serve` flags, space-separated (e.g. "--no-preserve-source-ip"). */
const tunnelExtra = option("tunnel-args", "").split(" ").filter(Boolean);

const NODE_A = "127.0.200.2";
const NODE_B = "127.0.200.3";
// The client workload is 127.0.0.1, the address loopback connections come from without binding:
// binding a source address costs the active closer a slow port search (TIME_WAIT), see README.
const CLIENT = "127.0.0.1";
const HBONE_WL = "127.0.201.3";
const TCP_WL = "127.0.201.4";
const HAPROXY = "127.0.200.5:9100";
/** The TLS floor's entry (on node-a's address) and its TLS listener (on node-b's). */
const FLOOR_IN = 15100;
const FLOOR_TLS = 15108;
/** The plain relay floor's entry (on node-a's address). */
const FLOOR_PLAIN = 15101;
const PORT = 9000;

function runtimeArgv(script: string, args: string[]): [string, string[]] {
  return runtime === "bun" ? ["bun", [script, ...args]] : ["deno", ["run", "-A", script, ...args]];
}

const children: ChildProcess[] = [];
function start(cmd: string, args: string[], readyPattern: RegExp, what: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    children.push(c);
    if (logDir) {
      const log = createWriteStream(join(logDir, `${what.replace(/[^\w.-]+/g, "_")}.log`));
      c.stdout!.pipe(log);
      c.stderr!.pipe(log);
    }
    let outText = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${outText}`)), 30_000);
    let ready = false;
    // Keep output only until ready: access logs afterwards are drained and dropped, so the client
    // (this process) does not pay for accumulating them.
    const onData = (d: Buffer) => {
      if (ready) return;
      outText += d;
      if (readyPattern.test(outText)) {
        ready = true;
        outText = "";
        clearTimeout(timer);
        resolve(c);
      }
    };
    c.stdout!.on("data", onData);
    c.stderr!.on("data", (d: Buffer) => {
      if (!ready) outText += d;
    });
    c.once("exit", (code) => reject(new Error(`${what} exited with ${code}:\n${outText}`)));
  });
}

function stopAll() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}

/** Opens a connection to the path's entry and performs its handshake. */
type Opener = () => Promise<net.Socket>;

function tcp(host: string, port: number, _localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true }, () => {
      s.off("error", reject);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once("error", reject);
  });
}

async function viaConnect(proxy: string, target: string): Promise<net.Socket> {
  const [h, p] = proxy.split(":") as [string, string];
  const s = await tcp(h, Number(p), CLIENT);
  s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const i = buf.indexOf("\r\n\r\n");
      if (i < 0) return;
      s.off("data", onData);
      s.pause();
      if (!buf.startsWith("HTTP/1.1 200")) return reject(new Error(`CONNECT refused: ${buf.split("\r\n")[0]}`));
      resolve();
    };
    s.on("data", onData);
    s.once("error", reject);
  });
  return s;
}

/** How long the backend's count may take after the client's EOF. */
const ANSWER_TIMEOUT_MS = 10_000;

/** The backend's count never came back: the EOF was lost on the way (seen with Deno's `node:tls`). */
class LostAnswer extends Error {
  constructor() {
    super(`no answer ${ANSWER_TIMEOUT_MS / 1000} s after EOF`);
  }
}

/** What a bulk run measured: MB/s, and for weft-hbone whether the bytes crossed workers. */
interface BulkRun {
  mbps: number;
  crossed?: boolean | null;
}

/** Asked once the path's handshake is done, before the clock starts (see {@link crossesWorkers}). */
type Probe = (s: net.Socket) => Promise<boolean | null>;

/**
 * Runs one bulk upload. A lost EOF is a failed run: counted in `failed` and NaN (no MB/s, no ratio
 * for its round), never retried away.
 */
async function bulkCounted(open: Opener, bytes: number, failed: { n: number }, probe?: Probe): Promise<BulkRun> {
  try {
    return await bulk(open, bytes, probe);
  } catch (e) {
    if (!(e instanceof LostAnswer)) throw e;
    failed.n++;
    return { mbps: NaN };
  }
}

/**
 * Whether node-a's worker that accepted the client's connection is not the one whose pooled HBONE
 * connection carries its stream (the only stream in flight during a bulk run): then every chunk
 * crosses a `MessagePort` between them, which costs HBONE 10–20% (see README). Read from node-a's
 * `/connections`; null when either row is missing.
 */
async function crossesWorkers(s: net.Socket): Promise<boolean | null> {
  const body = await (await fetch(`http://${NODE_A}:15000/connections`)).json() as ConnectionsResponse;
  const client = body.connections.find((c) => c.listener === "outbound" && c.remotePort === s.localPort);
  const carrying = body.connections.find((c) =>
    c.listener === "hbone_pool" && c.remoteAddress === HBONE_WL && Number(/\((\d+) streams\)/.exec(c.peer ?? "")?.[1]) > 0
  );
  return client && carrying ? client.worker !== carrying.worker : null;
}

/** Sends `bytes` then EOF; resolves when the backend's byte count comes back. */
async function bulk(open: Opener, bytes: number, probe?: Probe): Promise<BulkRun> {
  const block = Buffer.alloc(MiB, 0x5a);
  const s = await open();
  const crossed = probe ? await probe(s) : undefined;
  const t0 = performance.now();
  const answer = new Promise<string>((resolve, reject) => {
    let a = "";
    s.on("data", (d: Buffer) => (a += d));
    s.once("end", () => resolve(a));
    s.once("error", reject);
  });
  s.resume();
  let sent = 0;
  while (sent < bytes) {
    sent += block.length;
    if (!s.write(block)) await new Promise((r) => s.once("drain", r));
  }
  s.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lost = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LostAnswer()), ANSWER_TIMEOUT_MS);
  });
  const got = Number((await Promise.race([answer, lost]).finally(() => {
    clearTimeout(timer);
    s.destroy();
  })).trim());
  const secs = (performance.now() - t0) / 1000;
  if (got !== bytes) throw new Error(`backend got ${got} of ${bytes} bytes`);
  const mbps = bytes / 1e6 / secs;
  return crossed === undefined ? { mbps } : { mbps, crossed };
}

/** Connections per second (open, handshake, 1 byte, answer, close), and how many attempts failed. */
async function setupRate(open: Opener, secs: number, conc: number): Promise<{ perSec: number; errors: number }> {
  const until = performance.now() + secs * 1000;
  let done = 0;
  let errors = 0;
  const one = async () => {
    const s = await open();
    await new Promise<void>((resolve, reject) => {
      s.once("end", () => resolve());
      s.once("error", reject);
      s.on("data", () => {});
      s.resume();
      s.end("x");
    });
    s.destroy();
  };
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < until) {
      try {
        await one();
        done++;
      } catch {
        errors++;
        if (errors > 1000) throw new Error("too many connection errors");
      }
    }
  }));
  return { perSec: done / secs, errors };
}

/** Median of the measured values (NaN, a run that failed, left out); NaN when none is left. */
function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Per round, `xs[r] / base[r]` (NaN where either run failed). */
function perRound(xs: number[], base: number[]): number[] {
  return xs.map((x, r) => x / base[r]!);
}

/** A rounded figure, or null for NaN (JSON has no NaN). */
function fig(x: number, digits = 0): number | null {
  return Number.isNaN(x) ? null : Number(x.toFixed(digits));
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), "weft-bench-"));
  if (logDir) await mkdir(logDir, { recursive: true });
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  try {
    const ca = join(work, "ca");
    await initCa(ca);
    const config = join(work, "local.yaml");
    await writeFile(config, `workloads:
- {name: client, namespace: bench, serviceAccount: client, workloadIps: ["${CLIENT}"], protocol: HBONE, node: node-a}
- {name: server, namespace: bench, serviceAccount: server, workloadIps: ["${HBONE_WL}"], protocol: HBONE, node: node-b}
- {name: plain, namespace: bench, serviceAccount: plain, workloadIps: ["${TCP_WL}"], protocol: TCP, node: node-b}
`);
    const haCfg = join(work, "haproxy.cfg");
    await writeFile(haCfg, `global
  nbthread ${workers}
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen bench
  bind ${HAPROXY}
  server backend ${TCP_WL}:${PORT}
`);
    await start(...runtimeArgv(BACKEND, [HBONE_WL, String(PORT)]), /listening/, "backend (hbone workload)");
    await start(...runtimeArgv(BACKEND, [TCP_WL, String(PORT)]), /listening/, "backend (tcp workload)");
    const ha = spawn("haproxy", ["-f", haCfg, "-db"], { stdio: ["ignore", "ignore", "inherit"] });
    children.push(ha);
    // haproxy prints nothing when healthy: wait until it accepts.
    for (let i = 0; i < 100; i++) {
      try {
        (await tcp(...HAPROXY.split(":").map((x, j) => (j ? Number(x) : x)) as [string, number])).destroy();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const serve = (node: string, bind: string) =>
      start(...runtimeArgv(ENTRY, ["tunnel", "serve", "-c", config, "--node", node, "--bind", bind, "--admin-address", bind, "--ca", ca, "--workers", String(workers), "--no-watch", ...tunnelExtra]), /weft tunnel: ready/, node);
    await Promise.all([serve("node-a", NODE_A), serve("node-b", NODE_B)]);
    if (!only.length || only.includes("tls-floor")) {
      const floorDir = join(work, "floor");
      await mkdir(floorDir);
      const root = await loadCa(ca);
      const cert = await root.mint("spiffe://cluster.local/ns/bench/sa/floor");
      await writeFile(join(floorDir, "key.pem"), cert.keyPem);
      await writeFile(join(floorDir, "cert.pem"), cert.certPem);
      await writeFile(join(floorDir, "ca.pem"), root.certPem);
      await start(...runtimeArgv(FLOOR_SCRIPT, ["in", NODE_B, String(FLOOR_TLS), HBONE_WL, String(PORT), floorDir]), /listening/, "tls floor (in)");
      await start(...runtimeArgv(FLOOR_SCRIPT, ["out", NODE_A, String(FLOOR_IN), NODE_B, String(FLOOR_TLS), floorDir]), /listening/, "tls floor (out)");
    }
    if (!only.length || only.includes("tcp-floor")) {
      await start(...runtimeArgv(FLOOR_SCRIPT, ["plain", NODE_A, String(FLOOR_PLAIN), TCP_WL, String(PORT)]), /listening/, "tcp floor");
    }

    const paths: Record<string, Opener> = {
      direct: () => tcp(TCP_WL, PORT, CLIENT),
      haproxy: () => tcp(...HAPROXY.split(":").map((x, j) => (j ? Number(x) : x)) as [string, number], CLIENT),
      "weft-tcp": () => viaConnect(`${NODE_A}:15001`, `${TCP_WL}:${PORT}`),
      "weft-hbone": () => viaConnect(`${NODE_A}:15001`, `${HBONE_WL}:${PORT}`),
      "tls-floor": () => tcp(NODE_A, FLOOR_IN, CLIENT),
      "tcp-floor": () => tcp(NODE_A, FLOOR_PLAIN, CLIENT),
    };
    for (const k of Object.keys(paths)) if (only.length && !only.includes(k) && k !== "haproxy") delete paths[k];
    // Warm up each path (JIT, pooled HBONE connection, certificates).
    // Warm-up runs that lose their EOF count too: a lost answer is a failure wherever it happens.
    const failedRuns: Record<string, { n: number }> = Object.fromEntries(Object.keys(paths).map((k) => [k, { n: 0 }]));
    const setupErrors: Record<string, number> = Object.fromEntries(Object.keys(paths).map((k) => [k, 0]));
    for (const [name, open] of Object.entries(paths)) {
      await bulkCounted(open, 16 * MiB, failedRuns[name]!);
      setupErrors[name]! += (await setupRate(open, 0.3, 4)).errors;
    }
    const results: Record<string, { mbps: number[]; cps: number[]; crossed: (boolean | null)[] }> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, open] of Object.entries(paths)) {
        const res = results[name] ??= { mbps: [], cps: [], crossed: [] };
        const run = await bulkCounted(open, bulkBytes, failedRuns[name]!, name === "weft-hbone" ? crossesWorkers : undefined);
        res.mbps.push(run.mbps);
        if (run.crossed !== undefined) res.crossed.push(run.crossed);
        const setup = await setupRate(open, seconds, concurrency);
        res.cps.push(setup.perSec);
        setupErrors[name]! += setup.errors;
        const hop = run.crossed === undefined ? "" : run.crossed === null ? " (workers unknown)" : run.crossed ? " (crossed workers)" : " (one worker)";
        const mbps = Number.isNaN(run.mbps) ? "FAILED (EOF lost)" : `${run.mbps.toFixed(0)} MB/s`;
        console.error(`round ${r + 1} ${name}: ${mbps}${hop}, ${setup.perSec.toFixed(0)} conn/s`);
      }
    }
    const haproxy = results.haproxy!;
    const summary = Object.fromEntries(Object.entries(results).map(([k, v]) => {
      const mbpsRatios = perRound(v.mbps, haproxy.mbps);
      const connRatios = perRound(v.cps, haproxy.cps);
      return [k, {
        mbps: fig(median(v.mbps)),
        connPerSec: fig(median(v.cps)),
        // Medians of the per-round ratios to haproxy (rounds where either run failed left out).
        mbpsVsHaproxy: fig(median(mbpsRatios), 2),
        connVsHaproxy: fig(median(connRatios), 2),
        rounds: {
          mbps: v.mbps.map((x) => fig(x)),
          connPerSec: v.cps.map((x) => fig(x)),
          mbpsVsHaproxy: mbpsRatios.map((x) => fig(x, 2)),
          connVsHaproxy: connRatios.map((x) => fig(x, 2)),
          // weft-hbone: per round, whether the client's connection and the pooled HBONE connection
          // were on different workers of node-a (see crossesWorkers).
          ...(v.crossed.length ? { crossedWorkers: v.crossed } : {}),
        },
        // Bulk runs (warm-up included) whose answer never came: the EOF was lost on the way.
        failedRuns: failedRuns[k]!.n,
        // Setup-rate connections that failed (refused, reset, or no answer).
        setupErrors: setupErrors[k]!,
      }];
    }));
    /** A target: the median per-round ratio reaches `min` and the path never failed a run. */
    const meets = (path: string, min: number): boolean | null => {
      const p = summary[path];
      return p ? p.failedRuns === 0 && p.mbpsVsHaproxy !== null && p.mbpsVsHaproxy >= min : null;
    };
    const report = {
      date: new Date().toISOString(),
      tunnelRuntime: runtime,
      clientRuntime: process.versions.bun ? `bun ${process.versions.bun}` : `deno ${(process.versions as Record<string, string>).deno}`,
      workers,
      tunnelArgs: tunnelExtra,
      bulkMiB: bulkBytes / MiB,
      setupSeconds: seconds,
      concurrency,
      rounds,
      // Other work on the machine skews absolute figures; the interleaved ratios are what to read.
      loadAverage: { before: loadBefore, after: loadavg().map((x) => Number(x.toFixed(2))) },
      summary,
      // A path left out with --paths has no verdict; one with a failed run does not meet its target.
      targets: {
        "weft-tcp >= 1.0x haproxy MB/s": meets("weft-tcp", 1.0),
        "weft-hbone >= 0.5x haproxy MB/s": meets("weft-hbone", 0.5),
      },
    };
    console.log(JSON.stringify(report, null, 2));
    if (out) {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, JSON.stringify(report, null, 2) + "\n");
    }
    const failed = Object.entries(summary).filter(([k, v]) => k.startsWith("weft-") && v.failedRuns > 0);
    if (failed.length) {
      console.error(`failed runs: ${failed.map(([k, v]) => `${k} ${v.failedRuns}`).join(", ")}`);
      process.exitCode = 1;
    }
  } finally {
    stopAll();
    await rm(work, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  console.error(e);
  stopAll();
  process.exitCode = 1;
}
process.exit();
