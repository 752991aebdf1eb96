/**
 * Where a proxy's CPU goes under the benchmark load: `perf stat` (syscalls and context switches per
 * request) and `perf record` (sampling, no call graphs) on its processes while wrk runs, summarised
 * by thread, by DSO (kernel / runtime binary / JIT code / libc) and by symbol. Deno runs with V8's `--perf-basic-prof` so JIT frames carry JS names; Bun's
 * JIT frames stay anonymous (they show as the `[unknown]`/JIT DSO).
 *
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Peer, startPeer } from "./peers.ts";
import type { CaseDef, ProfileEntry, ProfileShare } from "./session.ts";
import { runWrk } from "./wrk.ts";

function perfReport(file: string, sort: string, limit: number, opts: { minPercent?: number; filter?: RegExp } = {}): { rows: ProfileShare[]; samples: number } {
  let out = "";
  try {
    out = execFileSync("perf", ["report", "-i", file, "--stdio", "--no-children", "--sort", sort, "--percent-limit", String(opts.minPercent ?? 0.5)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? "";
  }
  const sm = out.match(/^# Samples: (\d+)([KM]?)/m);
  const samples = sm ? Number(sm[1]) * (sm[2] === "K" ? 1e3 : sm[2] === "M" ? 1e6 : 1) : 0;
  const rows: ProfileShare[] = [];
  for (const line of out.split("\n")) {
    const m = line.match(/^\s+([\d.]+)%\s+(.+?)\s*$/);
    if (!m || (opts.filter && !opts.filter.test(m[2]!))) continue;
    rows.push({ share: Number(m[1]) / 100, what: m[2]!.replace(/\s{2,}/g, "  ") });
    if (rows.length >= limit) break;
  }
  return { rows, samples };
}

/** Syscalls and context switches of `pids` over `seconds` (perf stat, counting, not sampling). */
function perfStat(pids: number[], seconds: number): Promise<{ syscalls: number; contextSwitches: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      "perf",
      ["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-e", "context-switches", "-p", pids.join(","), "--", "sleep", String(seconds)],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let err = "";
    p.stderr!.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("exit", () => {
      const count = (event: string) => Number(err.split("\n").find((l) => l.includes(`,${event},`) || l.includes(`,${event}`))?.split(",")[0] ?? NaN);
      resolve({ syscalls: count("raw_syscalls:sys_enter"), contextSwitches: count("context-switches") });
    });
  });
}

/**
 * Profile one configuration under the wrk load: perf stat (syscalls and context switches per
 * request) for any proxy, and perf record (where the CPU goes) as well.
 */
export async function profileCase(c: CaseDef, sessionDir: string, backendPort: number, seconds: number, log: (l: string) => void): Promise<ProfileEntry> {
  if (!c.spec) throw new Error("profileCase needs a proxy");
  const runtimeArgs = c.spec.kind === "weft" && c.spec.runtime === "deno" ? ["--v8-flags=--perf-basic-prof"] : [];
  const peer: Peer = await startPeer(c.spec, sessionDir, backendPort, { runtimeArgs });
  const file = join(sessionDir, `perf-${c.id}.data`);
  try {
    const url = `http://127.0.0.1:${peer.port}/`;
    await runWrk({ url, durationS: 2 });
    const load = runWrk({ url, durationS: seconds + 1 });
    await new Promise((r) => setTimeout(r, 500));
    const pids = peer.pids();
    const counted = perfStat(pids, seconds - 0.5);
    await new Promise<void>((resolve, reject) => {
      const p = spawn("perf", ["record", "-F", "499", "-p", pids.join(","), "-o", file, "--", "sleep", String(seconds - 0.5)], { stdio: "ignore" });
      p.on("exit", () => resolve());
      p.on("error", reject);
    });
    const stat = await counted;
    const w = await load;
    if (!existsSync(file)) throw new Error("perf record wrote nothing");
    const threads = perfReport(file, "comm", 12);
    const dsos = perfReport(file, "dso", 10);
    const symbols = perfReport(file, "dso,sym", 30);
    // JIT-compiled JavaScript by function (named on Deno; anonymous addresses on Bun).
    const js = perfReport(file, "sym", 15, { minPercent: 0.1, filter: /JS:|\[JIT\]/ });
    // perf stat ran for (seconds − 0.5) s of a steady wrk run: requests in that window ≈ rps × time.
    const requests = w.rps * (seconds - 0.5);
    const syscallsPerRequest = stat.syscalls / requests;
    const contextSwitchesPerRequest = stat.contextSwitches / requests;
    log(
      `profile ${c.id}: ${threads.samples} samples, ${Math.round(w.rps)} req/s under perf, ${syscallsPerRequest.toFixed(2)} syscalls and ${
        contextSwitchesPerRequest.toFixed(2)
      } context switches per request`,
    );
    return {
      caseId: c.id,
      command: peer.command,
      seconds,
      rps: w.rps,
      samples: threads.samples,
      syscallsPerRequest,
      contextSwitchesPerRequest,
      threads: threads.rows,
      dsos: dsos.rows,
      symbols: symbols.rows,
      js: js.rows.map((r) => ({ ...r, what: r.what.replace(/^\[\.\]\s*/, "").replace(/ file:\/\/\S*?\/(src|cmd)\//, " $1/") })),
    };
  } finally {
    await peer.stop();
    rmSync(file, { force: true });
    for (const pid of peer.pids().concat(peer.pid)) rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
}
