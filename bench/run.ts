/**
 * The benchmark harness: weft against nginx and haproxy, all on 127.0.0.1, in one interleaved
 * session (every configuration once per round, the same order each round), and a results file.
 *
 *   deno run -A bench/run.ts [--rounds 3] [--duration 10] [--warmup 10] [--quick]
 *                            [--runtimes bun,deno] [--only throughput,streaming,idle,profile]
 *                            [--idle-conns 10000] [--stream-mib 1024] [--no-profile]
 *                            [--weft-ref HEAD] [--quiet-cores 0.3] [--quiet-wait 120] [--retries 3]
 *                            [--cases nginx,weft-bun-2,…] [--out dir]
 *   bun bench/run.ts …       (the same; the harness uses node: APIs only)
 *
 * Phases: throughput (wrk -t1 -c64 --latency per configuration, incl. weft with dispatcher
 * instrumentation off and with a simulated inspector on /events), streaming (1 GiB through each
 * proxy), idle connections (10,000 held keep-alive connections, RSS per connection), and a perf
 * profile of weft under the same load. Writes bench/results/<date>-<runtime>.md (+ .json) and
 * bench/results/latest.md.
 *
 * --cases ID,… keeps only those configurations (ids as in the results' Configurations table; nginx is
 * always kept, as every ratio is to nginx in the same round): more rounds of a few configurations,
 * e.g. `--only throughput --cases weft-bun-2,weft-bun-2-noinstr --rounds 10` for the instrumentation cost.
 *
 * --weft-ref REF benchmarks weft as committed at REF (exported with git archive into the session's
 * temp dir, node_modules linked) instead of the working tree. Before every measured run the harness
 * waits (up to --quiet-wait s) until at most --quiet-cores CPUs are busy, and it records how much CPU
 * anything else used during each run; a throughput run during which other processes used more than
 * that is repeated (up to --retries times), and what is left shows up in the results.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { measureIdleConnections } from "./idle_conns.ts";
import { attachInspector, type Inspector } from "./inspector.ts";
import { describeMachine } from "./machine.ts";
import type { InstrumentationCost } from "./instrumentation_cost.ts";
import { BENCH_DIR, describeSpec, need, type Peer, peerSettings, REPO, startBackend, startPeer, type WeftRuntime, which } from "./peers.ts";
import { type CpuTimes, cpuTimes, machineCpu, peakRssBytes, rssBytes, rssSampler, threadDelta, threadTimes, waitForQuiet } from "./procstat.ts";
import { profileCase } from "./profile.ts";
import { renderReport } from "./report.ts";
import type { CaseDef, Incident, Session, ThroughputSample } from "./session.ts";
import { download } from "./streaming.ts";
import { errorCount, runWrk } from "./wrk.ts";

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  rounds: number;
  durationS: number;
  warmupS: number;
  quick: boolean;
  runtimes: WeftRuntime[];
  phases: Set<string>;
  idleConnections: number;
  streamBytes: number;
  outDir: string;
  weftRef: string | null;
  quietCores: number;
  quietWaitS: number;
  retries: number;
  /** Configuration ids to keep (nginx always), or null for all. */
  cases: Set<string> | null;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    rounds: 3,
    durationS: 10,
    // Steady state: Bun's JIT keeps compiling weft's request path for about 10 s after load starts
    // (the JITWorker thread's CPU, sampled per 5 s window: 720, 90, 40, 0 ms), and req/s over the
    // first 3 s is 20-25% below what follows.
    warmupS: 10,
    quick: false,
    runtimes: ["bun", "deno"],
    phases: new Set(["throughput", "streaming", "idle", "profile"]),
    idleConnections: 10_000,
    streamBytes: 1024 * 1024 * 1024,
    outDir: join(BENCH_DIR, "results"),
    weftRef: null,
    quietCores: 0.3,
    quietWaitS: 120,
    retries: 3,
    cases: null,
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = () => {
      const n = Number(val());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
      return n;
    };
    switch (a) {
      case "--rounds":
        o.rounds = Math.round(num());
        set.add("rounds");
        break;
      case "--duration":
        o.durationS = num();
        set.add("duration");
        break;
      case "--warmup":
        o.warmupS = num();
        set.add("warmup");
        break;
      case "--quick":
        o.quick = true;
        break;
      case "--runtimes":
        o.runtimes = val().split(",").map((r) => {
          if (r !== "bun" && r !== "deno") throw new Error(`--runtimes: unknown runtime ${r}`);
          return r;
        });
        break;
      case "--only":
        o.phases = new Set(val().split(","));
        break;
      case "--no-profile":
        o.phases.delete("profile");
        break;
      case "--idle-conns":
        o.idleConnections = Math.round(num());
        set.add("idle");
        break;
      case "--stream-mib":
        o.streamBytes = Math.round(num() * 1024 * 1024);
        set.add("stream");
        break;
      case "--out":
        o.outDir = val();
        break;
      case "--cases":
        o.cases = new Set(["nginx", ...val().split(",")]);
        break;
      case "--weft-ref":
        o.weftRef = val();
        break;
      case "--quiet-cores":
        o.quietCores = num();
        break;
      case "--quiet-wait":
        o.quietWaitS = Number(val());
        break;
      case "--retries":
        o.retries = Number(val());
        break;
      case "-h":
      case "--help":
        console.log(readFileSync(new URL(import.meta.url), "utf8").match(/\/\*\*([\s\S]*?)\*\//)![1]!.replace(/^ \* ?/gm, ""));
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (o.quick) {
    if (!set.has("rounds")) o.rounds = 1;
    if (!set.has("duration")) o.durationS = 3;
    if (!set.has("warmup")) o.warmupS = 1;
    if (!set.has("idle")) o.idleConnections = 2000;
    if (!set.has("stream")) o.streamBytes = 256 * 1024 * 1024;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Configurations

function weftCase(rt: WeftRuntime, workers: number, extra: "" | "noinstr" | "inspector" = ""): CaseDef {
  const id = `weft-${rt}-${workers}${extra ? `-${extra}` : ""}`;
  const name = `weft ${rt === "bun" ? "Bun" : "Deno"} ${workers}w`;
  return {
    id,
    label: extra === "noinstr" ? `${name}, instrumentation off` : extra === "inspector" ? `${name} + inspector` : name,
    spec: { kind: "weft", runtime: rt, workers, instrumentation: extra !== "noinstr" },
    inspector: extra === "inspector",
  };
}

const DIRECT: CaseDef = { id: "direct", label: "direct to backend", spec: null };
const NGINX: CaseDef = { id: "nginx", label: "nginx 2w", spec: { kind: "nginx", workers: 2 } };
const HAPROXY: CaseDef = { id: "haproxy", label: "haproxy 2t", spec: { kind: "haproxy", threads: 2 } };
const FLOOR: CaseDef = { id: "bun-floor", label: "Bun floor (minimal relay)", spec: { kind: "floor", threads: 1 } };
const FLOOR_2: CaseDef = { id: "bun-floor-2", label: "Bun floor, 2 threads", spec: { kind: "floor", threads: 2 } };

/** The configurations `--cases` keeps (all without it). */
let caseFilter: Set<string> | null = null;
const kept = (cases: CaseDef[]) => caseFilter === null ? cases : cases.filter((c) => caseFilter!.has(c.id));

function throughputCases(runtimes: WeftRuntime[]): CaseDef[] {
  const out = [DIRECT, NGINX, HAPROXY];
  for (const rt of runtimes) {
    if (rt === "bun") out.push(FLOOR, FLOOR_2);
    out.push(weftCase(rt, 1), weftCase(rt, 2), weftCase(rt, 2, "noinstr"), weftCase(rt, 2, "inspector"));
  }
  return kept(out);
}

function streamingCases(runtimes: WeftRuntime[]): CaseDef[] {
  return kept([DIRECT, NGINX, HAPROXY, ...runtimes.map((rt) => weftCase(rt, 2))]);
}

function idleCases(runtimes: WeftRuntime[]): CaseDef[] {
  return kept([NGINX, HAPROXY, ...runtimes.map((rt) => weftCase(rt, 2))]);
}

// ---------------------------------------------------------------------------------------------
// Session state

const live = new Set<Peer>();
let sessionDir = "";

async function withPeer<T>(c: CaseDef, backend: Peer, fn: (peer: Peer | null) => Promise<T>): Promise<T> {
  if (!c.spec) return await fn(null);
  const peer = await startPeer(c.spec, sessionDir, backend.port);
  live.add(peer);
  try {
    return await fn(peer);
  } finally {
    live.delete(peer);
    const early = peer.exit();
    const ex = await peer.stop();
    lastStop = { peer, ...ex, early: early !== null };
  }
}

/** How the last peer ended (checked by the caller for misbehaviour). */
let lastStop: { peer: Peer; code: number | null; signal: string | null; killed: boolean; early: boolean } | null = null;

function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** Lines in a peer's log that are not part of its normal start/stop chatter. */
function oddLogLines(peer: Peer): string[] {
  return peer.log().split("\n").filter((l) =>
    l.trim() &&
    !/^weft: (weft \S+ proxy on|listener |admin on|ready|stopped|draining|drain|shutting down|shutdown|received|SIG)/i.test(l) &&
    !/\[notice\]|\[NOTICE\]|^bun floor: ready, \d+ threads?$|Proxy edge started|Proxy backend started|Loading success|FD limit \(\d+\) too low for maxconn|Cannot raise FD limit/.test(l)
  );
}

function checkStop(session: Session, phase: string, c: CaseDef, round: number): void {
  if (!lastStop) return;
  const { peer, code, signal, killed, early } = lastStop;
  lastStop = null;
  const odd = oddLogLines(peer);
  const exitBad = code !== 0 && !(code === null && signal === "SIGTERM");
  const what = early
    ? `exited on its own (code ${code}, signal ${signal}) before the harness stopped it`
    : killed
    ? "did not exit within 15 s of SIGTERM (killed)"
    : exitBad
    ? `exited with code ${code}, signal ${signal} on SIGTERM`
    : odd.length
    ? "unexpected log output"
    : null;
  if (!what) return;
  session.incidents.push({
    phase,
    caseId: c.id,
    round,
    what,
    command: peer.command,
    log: (early || exitBad ? peer.log().split("\n") : odd).slice(-40).join("\n"),
  });
}

// ---------------------------------------------------------------------------------------------
// Phases

async function throughputPhase(session: Session, o: Options, backend: Peer): Promise<void> {
  const cases = throughputCases(o.runtimes);
  for (let round = 1; round <= o.rounds; round++) {
    for (const c of cases) {
      // A run during which something else took CPU is repeated (fresh peer), up to --retries times.
      for (let attempt = 0;; attempt++) {
        try {
          const r = await withPeer(c, backend, (peer) => throughputRun(o, backend, c, round, peer));
          const busy = r.sample.foreignCores > Math.max(0.25, o.quietCores);
          if (busy && attempt < o.retries) {
            log(`round ${round} ${c.id}: ${r.sample.foreignCores.toFixed(2)} CPUs used by other processes during the run; repeating it`);
            lastStop = null;
            continue;
          }
          r.sample.attempts = attempt + 1;
          session.throughput.push(r.sample);
          session.incidents.push(...r.incidents);
          checkStop(session, "throughput", c, round);
        } catch (e) {
          failure(session, "throughput", c, round, e);
        }
        break;
      }
    }
  }
}

async function throughputRun(
  o: Options,
  backend: Peer,
  c: CaseDef,
  round: number,
  peer: Peer | null,
): Promise<{ sample: ThroughputSample; incidents: Incident[] }> {
  const port = peer?.port ?? backend.port;
  const url = `http://127.0.0.1:${port}/`;
  const quiet = await quietMachine(o);
  let inspector: Inspector | null = null;
  if (c.inspector && peer?.adminUrl) {
    inspector = attachInspector(peer.adminUrl);
    await inspector.ready;
  }
  await runWrk({ url, durationS: o.warmupS });
  const pids = peer ? peer.pids() : null;
  const cpu0 = pids ? cpuTimes(pids) : null;
  const thr0 = pids ? threadTimes(pids) : null;
  const b0 = cpuTimes(backend.pids());
  const self0 = cpuTimes([process.pid]);
  const m0 = machineCpu();
  const sampler = pids ? rssSampler(() => peer!.pids()) : null;
  const w = await runWrk({ url, durationS: o.durationS });
  const m1 = machineCpu();
  const loadRss = sampler ? sampler.stop() : null;
  const cpu1 = pids ? cpuTimes(pids) : null;
  const thr1 = pids ? threadTimes(pids) : null;
  const b1 = cpuTimes(backend.pids());
  const self1 = cpuTimes([process.pid]);
  const used = (a: CpuTimes | null, b: CpuTimes | null) => (a && b ? b.user - a.user + b.sys - a.sys : 0);
  const foreign = (m1.busy - m0.busy - used(cpu0, cpu1) - used(b0, b1) - used(self0, self1) - (w.cpu ? w.cpu.user + w.cpu.sys : 0)) / o.durationS;
  const peakRss = pids ? peakRssBytes(peer!.pids()) : null;
  let weftRequests: number | null = null;
  if (peer?.adminUrl) {
    try {
      const text = await (await fetch(`${peer.adminUrl}/stats`)).text();
      const m = text.match(/^http\.edge\.downstream_rq_total: (\d+)$/m);
      weftRequests = m ? Number(m[1]) : null;
    } catch { /* reported as missing */ }
  }
  const insp = inspector ? await inspector.close() : null;
  const errors = errorCount(w);
  const incidents: Incident[] = [];
  if (errors > 0) {
    incidents.push({
      phase: "throughput",
      caseId: c.id,
      round,
      what: `wrk counted ${errors} errors (non-2xx ${w.non2xx}, socket ${JSON.stringify(w.socketErrors)})`,
      command: peer?.command ?? "backend",
      log: w.raw.trim(),
    });
  }
  if (insp?.error) incidents.push({ phase: "throughput", caseId: c.id, round, what: `inspector stream: ${insp.error}`, command: peer?.command ?? "", log: "" });
  const cpuS = used(cpu0, cpu1) / o.durationS;
  log(
    `round ${round}/${o.rounds} ${c.id.padEnd(22)} ${Math.round(w.rps).toLocaleString("en-US").padStart(8)} req/s  p50 ${w.p50.toFixed(2)} ms  p99 ${
      w.p99.toFixed(2)
    } ms  cpu ${pids ? cpuS.toFixed(2) : "-"}  rss ${peakRss ? (peakRss / 2 ** 20).toFixed(0) : "-"} MiB  other ${foreign.toFixed(2)}${
      errors ? `  ERRORS ${errors}` : ""
    }${insp ? `  snapshots ${insp.snapshots}` : ""}`,
  );
  return {
    sample: {
      caseId: c.id,
      round,
      rps: w.rps,
      requests: w.requests,
      p50: w.p50,
      p90: w.p90,
      p99: w.p99,
      errors,
      cpu: cpu0 && cpu1 ? { user: cpu1.user - cpu0.user, sys: cpu1.sys - cpu0.sys } : null,
      backendCpu: { user: b1.user - b0.user, sys: b1.sys - b0.sys },
      peakRss,
      loadRss,
      threads: thr0 && thr1 ? threadDelta(thr0, thr1) : null,
      weftRequests,
      inspector: insp,
      wrkCpu: w.cpu,
      foreignCores: foreign,
      busyBefore: quiet.busyCores,
      attempts: 1,
    },
    incidents,
  };
}

/** Wait for a quiet machine (see --quiet-cores); says so when it gave up. */
async function quietMachine(o: Options, maxWaitS = o.quietWaitS): Promise<{ busyCores: number }> {
  const q = await waitForQuiet(o.quietCores, Math.min(maxWaitS, o.quietWaitS) * 1000);
  if (!q.quiet) log(`machine still busy (${q.busyCores.toFixed(2)} CPUs) after waiting ${Math.round(q.waitedMs / 1000)} s; measuring anyway`);
  else if (q.waitedMs > 2000) log(`waited ${Math.round(q.waitedMs / 1000)} s for a quiet machine`);
  return q;
}

async function streamingPhase(session: Session, o: Options, backend: Peer): Promise<void> {
  const cases = streamingCases(o.runtimes);
  // One unmeasured download first: the first read of the sparse file fills the page cache.
  await download(`http://127.0.0.1:${backend.port}/big`, o.streamBytes);
  for (let round = 1; round <= o.rounds; round++) {
    for (const c of cases) {
      try {
        await withPeer(c, backend, async (peer) => {
          const port = peer?.port ?? backend.port;
          await quietMachine(o);
          const sampler = peer ? rssSampler(() => peer.pids(), 100) : null;
          const result = await download(`http://127.0.0.1:${port}/big`, o.streamBytes);
          const loadRss = sampler ? sampler.stop() : null;
          session.streaming.push({ caseId: c.id, round, result, loadRss });
          if (result.error) {
            session.incidents.push({
              phase: "streaming",
              caseId: c.id,
              round,
              what: result.error,
              command: peer?.command ?? "backend",
              log: peer ? oddLogLines(peer).join("\n") : "",
            });
          }
          log(
            `stream round ${round}/${o.rounds} ${c.id.padEnd(14)} ${result.mbps.toFixed(0).padStart(6)} MB/s  rss ${
              loadRss ? (loadRss / 2 ** 20).toFixed(0) : "-"
            } MiB${result.error ? `  ${result.error}` : ""}`,
          );
        });
        checkStop(session, "streaming", c, round);
      } catch (e) {
        failure(session, "streaming", c, round, e);
      }
    }
  }
}

async function idlePhase(session: Session, o: Options, backend: Peer): Promise<void> {
  const cases = idleCases(o.runtimes);
  for (let round = 1; round <= o.rounds; round++) {
    for (const c of cases) {
      try {
        await withPeer(c, backend, async (peer) => {
          if (!peer) return;
          // Warm the request path (JIT, upstream pools) so "before" is a proxy that has served.
          await runWrk({ url: `http://127.0.0.1:${peer.port}/`, durationS: 1 });
          await quietMachine(o, 10); // memory, not CPU: a short wait is enough
          const result = await measureIdleConnections({
            port: peer.port,
            count: o.idleConnections,
            holdMs: 3000,
            timeoutMs: 120_000,
            rss: () => rssBytes(peer.pids()),
          });
          session.idle.push({ caseId: c.id, round, result });
          if (result.failed > 0 || result.openAfterHold < result.opened) {
            session.incidents.push({
              phase: "idle",
              caseId: c.id,
              round,
              what: `${result.failed} of ${o.idleConnections} connections failed, ${result.opened - result.openAfterHold} closed while idle; first failures: ${
                result.failures.join("; ")
              }`,
              command: peer.command,
              log: oddLogLines(peer).slice(-20).join("\n"),
            });
          }
          log(
            `idle round ${round}/${o.rounds} ${c.id.padEnd(14)} ${result.openAfterHold}/${o.idleConnections} held, rss ${
              (result.rssBeforeBytes / 2 ** 20).toFixed(1)
            } → ${(result.rssAfterBytes / 2 ** 20).toFixed(1)} MiB, ${result.perConnectionKiB.toFixed(2)} KiB/conn (opened in ${result.openMs} ms)`,
          );
        });
        checkStop(session, "idle", c, round);
      } catch (e) {
        failure(session, "idle", c, round, e);
      }
    }
  }
}

async function profilePhase(session: Session, o: Options, backend: Peer): Promise<void> {
  if (!which("perf")) {
    log("profile: perf is not installed; skipped");
    return;
  }
  for (const c of [NGINX, ...o.runtimes.map((rt) => weftCase(rt, 2))]) {
    try {
      await quietMachine(o);
      session.profiles.push(await profileCase(c, sessionDir, backend.port, Math.max(3, Math.min(o.durationS, 8)), log));
    } catch (e) {
      failure(session, "profile", c, 0, e);
    }
  }
}

/**
 * The instrumentation's cost in isolation (`bench/instrumentation_cost.ts`, ns per request) on each
 * runtime whose on/off throughput pair ran: the pairs alone cannot resolve 3% on a noisy machine.
 */
function instrumentationCost(session: Session): Record<string, InstrumentationCost> {
  const out: Record<string, InstrumentationCost> = {};
  const script = join(peerSettings.weftDir, "bench/instrumentation_cost.ts");
  for (const rt of ["bun", "deno"] as const) {
    if (!session.cases.some((c) => c.id === `weft-${rt}-2-noinstr`)) continue;
    const [cmd, args] = rt === "bun" ? [need("bun"), [script, "--json"]] : [need("deno"), ["run", "-A", script, "--json"]];
    try {
      const text = execFileSync(cmd, args, { cwd: peerSettings.weftDir, encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
      out[rt] = JSON.parse(text.trim().split("\n").at(-1)!) as InstrumentationCost;
      log(`instrumentation cost in isolation on ${rt}: ${out[rt].nsDelta.toFixed(0)} ns/request`);
    } catch (e) {
      log(`instrumentation cost on ${rt}: not measured (${e instanceof Error ? e.message.split("\n")[0] : e})`);
    }
  }
  return out;
}

function failure(session: Session, phase: string, c: CaseDef, round: number, e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  log(`${phase} round ${round} ${c.id}: FAILED: ${msg.split("\n")[0]}`);
  const peer = lastStop?.peer;
  const peerLog = peer ? peer.log().split("\n").filter((l) => l.trim()).slice(-20).join("\n") : "";
  session.incidents.push({
    phase,
    caseId: c.id,
    round,
    what: msg.split("\n")[0]!,
    command: peer?.command ?? (c.spec ? describeSpec(c.spec) : ""),
    log: [msg.split("\n").slice(1).join("\n"), peerLog ? `peer log:\n${peerLog}` : ""].filter(Boolean).join("\n"),
  });
  checkStop(session, phase, c, round);
}

// ---------------------------------------------------------------------------------------------
// Setup

/** Raise this process's open-files limit (children inherit it): 10,000 connections need 20,000+ fds. */
function raiseNofile(): number {
  const read = () => Number(readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+(\d+)/m)?.[1] ?? 0);
  if (read() >= 65536) return read();
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), "--nofile=65536:65536"], { stdio: "ignore" });
  } catch {
    try {
      const hard = readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+\d+\s+(\d+)/m)?.[1];
      if (hard) execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${hard}:${hard}`], { stdio: "ignore" });
    } catch { /* keep what we have */ }
  }
  return read();
}

/** weft's sources as committed at `ref`, in `dir` (git archive), with the repo's node_modules linked. */
function exportWeft(ref: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync("sh", ["-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", REPO, ref, dir], { stdio: ["ignore", "ignore", "inherit"] });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

function checkTools(o: Options): void {
  const missing = ["nginx", "haproxy", "wrk", "curl", ...o.runtimes].filter((t) => !which(t));
  if (missing.length) throw new Error(`missing: ${missing.join(", ")} (run bash bench/install.sh)`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  caseFilter = o.cases;
  checkTools(o);
  const nofile = raiseNofile();
  // The client (this process) and the proxy each hold one fd per idle connection, plus upstreams.
  const needFds = o.idleConnections + 1000;
  if (nofile < needFds) {
    log(`open-files limit is ${nofile}, below the ${needFds} the idle phase needs; holding ${nofile - 1000} connections instead`);
    o.idleConnections = Math.max(100, nofile - 1000);
  }
  peerSettings.maxConnections = Math.max(o.idleConnections + 1000, 4096);

  sessionDir = mkdtempSync(join(os.tmpdir(), "weft-bench-"));
  chmodSync(sessionDir, 0o755); // nginx workers run as nobody when started as root
  if (o.weftRef) peerSettings.weftDir = exportWeft(o.weftRef, join(sessionDir, "weft"));
  const machine = describeMachine(o.weftRef);
  log(`${machine.cpuModel}, ${machine.nproc} CPUs, ${machine.memTotalMiB} MiB; harness on ${machine.harnessRuntime}; weft ${machine.weftCommit}`);
  const bigFile = join(sessionDir, "big.bin");
  const fd = openSync(bigFile, "w", 0o644);
  ftruncateSync(fd, o.streamBytes); // sparse: no disk, served from zero pages
  closeSync(fd);

  const started = new Date();
  const session: Session = {
    startedAt: started.toISOString(),
    finishedAt: "",
    command: `${process.argv0 ?? "deno"} bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
    options: {
      rounds: o.rounds,
      durationS: o.durationS,
      warmupS: o.warmupS,
      idleConnections: o.idleConnections,
      streamBytes: o.streamBytes,
      quick: o.quick,
      runtimes: o.runtimes,
      weftRef: o.weftRef,
      quietCores: o.quietCores,
      quietWaitS: o.quietWaitS,
      retries: o.retries,
    },
    machine,
    nofileLimit: nofile,
    cases: [
      ...new Map(
        [...throughputCases(o.runtimes), ...streamingCases(o.runtimes), ...idleCases(o.runtimes)].map((
          c,
        ) => [c.id, { ...c, description: describeSpec(c.spec) }]),
      ).values(),
    ],
    throughput: [],
    streaming: [],
    idle: [],
    profiles: [],
    incidents: [],
  };

  const backend = await startBackend(sessionDir, bigFile);
  live.add(backend);
  const cleanup = async () => {
    for (const p of [...live]) await p.stop(3000);
    live.clear();
    rmSync(sessionDir, { recursive: true, force: true });
  };
  const onSignal = () => {
    log("interrupted: stopping peers");
    cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    if (o.phases.has("throughput")) {
      await throughputPhase(session, o, backend);
      session.instrumentationCost = instrumentationCost(session);
    }
    if (o.phases.has("streaming")) await streamingPhase(session, o, backend);
    if (o.phases.has("idle")) await idlePhase(session, o, backend);
    if (o.phases.has("profile")) await profilePhase(session, o, backend);
  } finally {
    await cleanup();
  }
  if (backend.exit()?.code) {
    session.incidents.push({
      phase: "session",
      caseId: "backend",
      round: 0,
      what: `backend exited with ${backend.exit()?.code}`,
      command: backend.command,
      log: backend.log(),
    });
  }

  session.finishedAt = new Date().toISOString();
  const label = o.runtimes.length > 1 ? "all" : o.runtimes[0]!;
  const base = `${started.toISOString().slice(0, 10)}-${label}${o.quick ? "-quick" : ""}`;
  mkdirSync(o.outDir, { recursive: true });
  const md = renderReport(session);
  writeFileSync(join(o.outDir, `${base}.md`), md);
  writeFileSync(join(o.outDir, `${base}.json`), JSON.stringify(session, null, 1) + "\n");
  if (!o.quick) copyFileSync(join(o.outDir, `${base}.md`), join(o.outDir, "latest.md"));
  log(`wrote ${join(o.outDir, `${base}.md`)}${o.quick ? "" : " and latest.md"}`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  for (const p of live) p.stop(2000);
  process.exit(1);
});
