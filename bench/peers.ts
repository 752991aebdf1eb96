/**
 * The peers under test, each a foreground process the harness starts and stops: the nginx backend,
 * nginx as reverse proxy, haproxy, and `weft proxy serve` on Bun or Deno. Configs are the
 * templates in bench/peers/ with {{PLACEHOLDERS}} filled in; every file a peer writes (pid, logs,
 * temp dirs) lives under the session's temp dir.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { uniquePort, waitForPort } from "./ports.ts";
import { processTree } from "./procstat.ts";

export const BENCH_DIR = new URL(".", import.meta.url).pathname;
export const REPO = join(BENCH_DIR, "..");

export type WeftRuntime = "bun" | "deno";

/** Session-wide settings: where weft's sources are (the repo, or a snapshot of a git ref) and haproxy's maxconn. */
export const peerSettings = {
  weftDir: REPO,
  maxConnections: 40_000,
};

export type PeerSpec =
  | { kind: "nginx"; workers: number }
  | { kind: "haproxy"; threads: number }
  | { kind: "weft"; runtime: WeftRuntime; workers: number; instrumentation: boolean }
  /** The runtime's floor: a minimal relay with weft's codec and nothing else (peers/bun_floor.ts). */
  | { kind: "floor"; threads: number };

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface Peer {
  name: string;
  /** The port load goes to. */
  port: number;
  /** weft's admin endpoint (`http://127.0.0.1:<port>`), else null. */
  adminUrl: string | null;
  pid: number;
  /** The pids whose CPU and memory count (nginx: master + workers). */
  pids(): number[];
  /** The command line, for the report. */
  command: string;
  /** stdout + stderr so far (the last 64 KiB). */
  log(): string;
  /** Set once the process has exited. */
  exit(): ExitInfo | null;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<ExitInfo & { killed: boolean }>;
}

/** An executable on PATH, or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/local/sbin"]) if (existsSync(join(dir, cmd))) return join(dir, cmd);
  return null;
}

/** The path of `cmd`, or an error that says how to install it. */
export function need(cmd: string): string {
  const p = which(cmd);
  if (!p) throw new Error(`${cmd} is not installed (run bash bench/install.sh)`);
  return p;
}

/** bench/peers/<file> with every {{KEY}} replaced; throws on a placeholder left unfilled. */
export function fillTemplate(file: string, values: Record<string, string | number>): string {
  const text = readFileSync(join(BENCH_DIR, "peers", file), "utf8").replace(/\{\{(\w+)\}\}/g, (m, k: string) => {
    if (!(k in values)) throw new Error(`${file}: no value for ${m}`);
    return String(values[k]);
  });
  return text;
}

const LOG_LIMIT = 64 * 1024;

function spawnPeer(name: string, exe: string, args: string[], opts: { cwd?: string; env?: Record<string, string> | undefined } = {}) {
  const child: ChildProcess = spawn(exe, args, {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const append = (d: Buffer | string) => {
    log += d.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  let exitInfo: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  child.on("error", (e) => append(`spawn error: ${e.message}\n`));
  const command = [exe, ...args].join(" ");
  const pid = child.pid!;
  return {
    child,
    pid,
    command,
    log: () => log,
    exit: () => exitInfo,
    exited,
    async stop(graceMs = 15_000) {
      if (exitInfo) return { ...exitInfo, killed: false };
      try {
        // process.kill, not child.kill: Deno reports (null, signal) for a child it signalled itself.
        process.kill(pid, "SIGTERM");
      } catch { /* already gone */ }
      let t: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([exited, new Promise<null>((res) => (t = setTimeout(() => res(null), graceMs)))]);
      clearTimeout(t);
      if (r) return { ...r, killed: false };
      try {
        process.kill(pid, "SIGKILL");
      } catch { /* gone */ }
      return { ...(await exited), killed: true };
    },
    name,
  };
}

function deadMessage(p: { name: string; exit(): ExitInfo | null; log(): string }): string | null {
  const e = p.exit();
  return e ? `${p.name} exited during startup (code ${e.code}, signal ${e.signal}):\n${p.log().slice(-4000)}` : null;
}

/** nginx creates its temp dirs itself (owned by its worker user); only the prefix must exist. */
function ensureDirs(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
}

async function startNginx(name: string, dir: string, template: string, values: Record<string, string | number>, port: number): Promise<Peer> {
  ensureDirs(dir);
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, fillTemplate(template, { ...values, DIR: dir, PORT: port }));
  const p = spawnPeer(name, need("nginx"), ["-p", dir, "-e", join(dir, "error.log"), "-c", conf, "-g", "daemon off;"]);
  await waitForPort(port, 20_000, () => deadMessage(p));
  // Wait until every worker is up, so CPU and RSS cover them all.
  const want = Number(values.WORKERS ?? 1) + 1;
  for (let i = 0; i < 100 && processTree(p.pid).length < want; i++) await new Promise((r) => setTimeout(r, 20));
  return { ...p, port, adminUrl: null, pids: () => processTree(p.pid) };
}

/** The shared backend: nginx `return 200` (13-byte body) and /big, a 1 GiB file. */
export async function startBackend(sessionDir: string, bigFile: string): Promise<Peer> {
  const port = await uniquePort();
  return startNginx("backend", join(sessionDir, "backend"), "nginx-backend.conf", { BIG_FILE: bigFile }, port);
}

let instance = 0;

/** As in scripts/weft.sh and the deno.json tasks. */
const DENO_V8_FLAGS = "--v8-flags=--max-semi-space-size=4";

/** Start a proxy in front of `backendPort`; resolves once it accepts connections (and weft says ready). */
export async function startPeer(
  spec: PeerSpec,
  sessionDir: string,
  backendPort: number,
  extra: { runtimeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<Peer> {
  const port = await uniquePort();
  const dir = join(sessionDir, `${spec.kind}-${++instance}`);
  mkdirSync(dir, { recursive: true });
  if (spec.kind === "nginx") {
    return startNginx("nginx", dir, "nginx-proxy.conf", { WORKERS: spec.workers, BACKEND_PORT: backendPort }, port);
  }
  if (spec.kind === "haproxy") {
    const cfg = join(dir, "haproxy.cfg");
    writeFileSync(cfg, fillTemplate("haproxy.cfg", { WORKERS: spec.threads, PORT: port, BACKEND_PORT: backendPort, MAXCONN: peerSettings.maxConnections }));
    const p = spawnPeer("haproxy", need("haproxy"), ["-db", "-f", cfg]);
    await waitForPort(port, 20_000, () => deadMessage(p));
    return { ...p, port, adminUrl: null, pids: () => [p.pid] };
  }
  if (spec.kind === "floor") {
    const p = spawnPeer("bun-floor", need("bun"), [join(peerSettings.weftDir, "bench/peers/bun_floor.ts"), String(port), String(backendPort), String(spec.threads)], { cwd: peerSettings.weftDir });
    // Every thread listening, and as many as asked: a floor from an older tree (--weft-ref) has no threads.
    await waitForLogLine(p, `bun floor: ready, ${spec.threads} thread${spec.threads > 1 ? "s" : ""}\n`, "the Bun floor", 20_000);
    await waitForPort(port, 20_000, () => deadMessage(p));
    return { ...p, port, adminUrl: null, pids: () => [p.pid] };
  }
  const adminPort = await uniquePort();
  const yaml = join(dir, "weft.yaml");
  writeFileSync(yaml, fillTemplate("weft.yaml", { PORT: port, ADMIN_PORT: adminPort, BACKEND_PORT: backendPort }));
  const exe = need(spec.runtime);
  const rtArgs = extra.runtimeArgs ?? [];
  const main = join(peerSettings.weftDir, "cmd/main.ts");
  // Deno runs with the V8 flag weft is documented to run with (scripts/weft.sh, deno.json tasks).
  const pre = spec.runtime === "bun" ? [...rtArgs, main] : ["run", "-A", DENO_V8_FLAGS, ...rtArgs, main];
  const args = [...pre, "proxy", "serve", "-c", yaml, "--concurrency", String(spec.workers), "--drain-time-s", "2"];
  if (!spec.instrumentation) args.push("--no-instrumentation");
  const p = spawnPeer(`weft-${spec.runtime}`, exe, args, { env: extra.env, cwd: peerSettings.weftDir });
  await waitForLogLine(p, "weft: ready\n", "weft", 60_000);
  await waitForPort(port, 20_000, () => deadMessage(p));
  return { ...p, port, adminUrl: `http://127.0.0.1:${adminPort}`, pids: () => [p.pid] };
}

/** Waits until `p` logs `line`; stops it and throws, with its log, if it dies or takes longer than `ms`. */
async function waitForLogLine(p: ReturnType<typeof spawnPeer>, line: string, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!p.log().includes(line)) {
    const dead = deadMessage(p);
    if (dead) throw new Error(dead);
    if (Date.now() > deadline) {
      await p.stop(1000);
      throw new Error(`${what} did not log ${JSON.stringify(line.trim())} within ${ms / 1000} s:\n${p.log().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function describeSpec(spec: PeerSpec | null): string {
  if (!spec) return "direct to backend";
  if (spec.kind === "nginx") return `nginx proxy_pass, keep-alive upstream, ${spec.workers} workers`;
  if (spec.kind === "haproxy") return `haproxy http mode, ${spec.threads} threads`;
  if (spec.kind === "floor") {
    const threads = spec.threads === 1 ? "1 thread" : `${spec.threads} worker threads with SO_REUSEPORT, as weft's workers`;
    return `minimal Bun relay with weft's codec, ${threads} (bench/peers/bun_floor.ts)`;
  }
  return `weft on ${spec.runtime === "bun" ? "Bun" : "Deno"}, ${spec.workers} worker${spec.workers > 1 ? "s" : ""}${
    spec.instrumentation ? "" : ", --no-instrumentation"
  }`;
}
