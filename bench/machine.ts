/**
 * The machine description for the results file: CPU, memory, kernel, OS and tool versions.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { REPO } from "./peers.ts";

export interface Machine {
  nproc: number;
  cpuModel: string;
  memTotalMiB: number;
  kernel: string;
  os: string;
  versions: Record<string, string>;
  weftCommit: string;
  harnessRuntime: string;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: REPO }).trim();
  } catch (e) {
    // nginx -v and wrk -v print to stderr and (wrk) exit non-zero.
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ""}${err.stderr ?? ""}`.trim() || "not found";
  }
}

function both(cmd: string, args: string[]): string {
  try {
    const r = execFileSync("sh", ["-c", `${cmd} ${args.join(" ")} 2>&1`], { encoding: "utf8" });
    return r.trim();
  } catch (e) {
    return ((e as { stdout?: string }).stdout ?? "").trim() || "not found";
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? "";
}

/** `weftRef`: the git ref benchmarked (null: the working tree). */
export function describeMachine(weftRef: string | null = null): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown";
  const mem = readFileSync("/proc/meminfo", "utf8").match(/^MemTotal:\s+(\d+) kB/m);
  let osName = "unknown";
  try {
    osName = readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? osName;
  } catch { /* no os-release */ }
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const status = weftRef ? "" : run("git", ["status", "--porcelain", "--", "src", "cmd"]);
  return {
    nproc: Number(run("nproc", [])) || os.cpus().length,
    cpuModel: model,
    memTotalMiB: mem ? Math.round(Number(mem[1]) / 1024) : 0,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    os: osName,
    versions: {
      nginx: firstLine(both("nginx", ["-v"])).replace(/^nginx version: /, ""),
      haproxy: firstLine(both("haproxy", ["-v"])).replace(/^HAProxy version /, "").replace(/ - https.*/, ""),
      wrk: firstLine(both("wrk", ["-v"])).replace(/ Copyright.*/, ""),
      curl: firstLine(both("curl", ["--version"])).split(" ").slice(0, 2).join(" "),
      deno: firstLine(both("deno", ["--version"])),
      bun: firstLine(both("bun", ["--version"])),
    },
    weftCommit: weftRef
      ? `${run("git", ["rev-parse", "--short", `${weftRef}^{commit}`])} (${weftRef}, exported with git archive)`
      : `${run("git", ["rev-parse", "--short", "HEAD"])}${
        status && !status.startsWith("not found") ? " + uncommitted changes in src/ or cmd/ (working tree)" : " (working tree)"
      }`,
    harnessRuntime: isBun
      ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
      : `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`,
  };
}
