/**
 * CPU time and memory of a peer's processes from /proc: `/proc/<pid>/stat` (utime, stime in clock
 * ticks), `/proc/<pid>/status` (VmRSS, VmHWM), and `/proc/<pid>/task/*` for the per-thread split.
 * A peer is a set of pids (nginx: master + workers; haproxy and weft: one process).
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's USER_HZ; 100 on every mainstream kernel (`getconf CLK_TCK`). */
export const CLK_TCK = 100;

export interface CpuTimes {
  /** Seconds of user time, summed over the pids. */
  user: number;
  /** Seconds of system time. */
  sys: number;
}

function statFields(path: string): string[] | null {
  try {
    const text = readFileSync(path, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'.
    return text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
  } catch {
    return null;
  }
}

/** The pid and its direct children (nginx master → workers), from /proc/<pid>/task/<pid>/children. */
export function processTree(pid: number): number[] {
  const out = [pid];
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    if (kids) { for (const k of kids.split(/\s+/)) out.push(...processTree(Number(k))); }
  } catch {
    // CONFIG_PROC_CHILDREN off: scan /proc for ppid.
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const f = statFields(`/proc/${name}/stat`);
      if (f && Number(f[1]) === pid) out.push(...processTree(Number(name)));
    }
  }
  return out;
}

export function cpuTimes(pids: number[]): CpuTimes {
  let user = 0, sys = 0;
  for (const pid of pids) {
    const f = statFields(`/proc/${pid}/stat`);
    if (!f) continue;
    // After "pid (comm) ": state is f[0], utime is field 14 → f[11], stime f[12].
    user += Number(f[11]) / CLK_TCK;
    sys += Number(f[12]) / CLK_TCK;
  }
  return { user, sys };
}

function statusKiB(pid: number, key: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Current resident set, bytes, summed over the pids. */
export function rssBytes(pids: number[]): number {
  return pids.reduce((s, p) => s + statusKiB(p, "VmRSS") * 1024, 0);
}

/** Peak resident set (VmHWM, since the process started), bytes, summed over the pids. */
export function peakRssBytes(pids: number[]): number {
  return pids.reduce((s, p) => s + statusKiB(p, "VmHWM") * 1024, 0);
}

export interface ThreadCpu {
  /** Thread name (comm); threads with the same name are summed. */
  name: string;
  threads: number;
  user: number;
  sys: number;
}

/** CPU seconds per thread name, over every thread of every pid. */
export function threadTimes(pids: number[]): Map<string, ThreadCpu> {
  const out = new Map<string, ThreadCpu>();
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let name = "?";
      try {
        name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      } catch { /* thread gone */ }
      // One bucket per name; numbered pools ("tokio-runtime-w", "HeapHelper 3") fold together.
      name = tid === String(pid) ? `${name} (main)` : name.replace(/[\s#_-]*\d+$/, "");
      const f = statFields(`/proc/${pid}/task/${tid}/stat`);
      if (!f) continue;
      const e = out.get(name) ?? { name, threads: 0, user: 0, sys: 0 };
      e.threads++;
      e.user += Number(f[11]) / CLK_TCK;
      e.sys += Number(f[12]) / CLK_TCK;
      out.set(name, e);
    }
  }
  return out;
}

/** Per-thread-name CPU between two samples (threads that appeared later count from zero). */
export function threadDelta(before: Map<string, ThreadCpu>, after: Map<string, ThreadCpu>): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const [name, a] of after) {
    const b = before.get(name);
    out.push({ name, threads: a.threads, user: a.user - (b?.user ?? 0), sys: a.sys - (b?.sys ?? 0) });
  }
  return out.sort((x, y) => y.user + y.sys - (x.user + x.sys));
}

/** Samples RSS every `everyMs` until stopped; gives the highest sample (RSS under load). */
export function rssSampler(pids: () => number[], everyMs = 200): { stop(): number } {
  let max = rssBytes(pids());
  const t = setInterval(() => {
    max = Math.max(max, rssBytes(pids()));
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(max, rssBytes(pids()));
    },
  };
}

/** Busy and total CPU seconds of the whole machine, all CPUs (/proc/stat's first line). */
export function machineCpu(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLK_TCK, total: (busy + idle + iowait) / CLK_TCK };
}

/**
 * Wait until the machine is quiet: a `windowMs` sample with at most `maxBusyCores` CPUs busy
 * (other people's tests and benchmarks on a shared box), or give up after `timeoutMs`.
 * Returns the busy cores of the last window and the time waited.
 */
export async function waitForQuiet(maxBusyCores: number, timeoutMs: number, windowMs = 500): Promise<{ busyCores: number; waitedMs: number; quiet: boolean }> {
  const t0 = Date.now();
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = machineCpu();
    const busyCores = (b.busy - a.busy) / (windowMs / 1000);
    const waitedMs = Date.now() - t0;
    if (busyCores <= maxBusyCores) return { busyCores, waitedMs, quiet: true };
    if (waitedMs >= timeoutMs) return { busyCores, waitedMs, quiet: false };
  }
}
