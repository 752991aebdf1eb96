/**
 * Runs `wrk -t1 -c64 --latency` and parses its report.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { CLK_TCK } from "./procstat.ts";

export interface WrkResult {
  requests: number;
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** wrk's own CPU seconds (from its parent shell's cutime/cstime after it exited). */
  cpu: { user: number; sys: number } | null;
  raw: string;
}

export interface WrkOptions {
  url: string;
  durationS: number;
  connections?: number;
  threads?: number;
  headers?: Record<string, string>;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  switch (unit) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      return NaN;
  }
}

export function parseWrk(raw: string): WrkResult {
  const pct = (p: string) => {
    const m = raw.match(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const rps = raw.match(/Requests\/sec:\s+([\d.]+)/);
  const total = raw.match(/^\s*(\d+) requests in/m);
  const non2xx = raw.match(/Non-2xx or 3xx responses:\s+(\d+)/);
  const sock = raw.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requests: total ? Number(total[1]) : 0,
    rps: rps ? Number(rps[1]) : 0,
    p50: pct("50"),
    p75: pct("75"),
    p90: pct("90"),
    p99: pct("99"),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    cpu: null,
    raw,
  };
}

/**
 * Run wrk to completion (killed if it overruns the duration by 30 s). It runs under a small shell
 * that prints its own /proc/<pid>/stat after wrk exits: cutime and cstime there are wrk's CPU.
 */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [`-t${o.threads ?? 1}`, `-c${o.connections ?? 64}`, `-d${o.durationS}s`, "--latency", "--timeout", "5s"];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push("-H", `${k}: ${v}`);
  args.push(o.url);
  return new Promise((resolve, reject) => {
    const script = 'wrk "$@"; rc=$?; echo; echo "wrk-parent-stat: $(cat /proc/$$/stat)"; exit $rc';
    const child = spawn("sh", ["-c", script, "sh", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), (o.durationS + 30) * 1000);
    child.on("error", (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on("exit", (code) => {
      clearTimeout(guard);
      const stat = out.match(/^wrk-parent-stat: (.*)$/m);
      out = out.replace(/\n?wrk-parent-stat: .*\n?/, "");
      if (code !== 0) return reject(new Error(`wrk ${args.join(" ")} exited with ${code}:\n${out}`));
      const r = parseWrk(out);
      if (stat) {
        const f = stat[1]!.slice(stat[1]!.lastIndexOf(")") + 2).split(" ");
        // After "pid (comm) ": cutime is field 16 → f[13], cstime f[14].
        r.cpu = { user: Number(f[13]) / CLK_TCK, sys: Number(f[14]) / CLK_TCK };
      }
      resolve(r);
    });
  });
}

/** Socket errors + non-2xx, summed: non-zero means the peer misbehaved under load. */
export function errorCount(r: WrkResult): number {
  const s = r.socketErrors;
  return r.non2xx + s.connect + s.read + s.write + s.timeout;
}
