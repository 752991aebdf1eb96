/**
 * Test harness: starts `weft` as a real process on the runtime running the tests (deno or bun),
 * waits until it reports ready, and gives its real listener and admin ports (configs use port 0).
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export const REPO = new URL("../../", import.meta.url).pathname;
export const MAIN = join(REPO, "cmd/main.ts");
export const IS_BUN = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** The command that runs weft on this runtime: [executable, ...args before weft's own]. */
export function weftCommand(): [string, string[]] {
  return IS_BUN ? [process.execPath, [MAIN]] : [process.execPath, ["run", "-A", MAIN]];
}

/** Runs `weft <args>` to its end (e.g. `proxy validate`): its exit code and output. */
export function runWeft(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [exe, pre] = weftCommand();
  const r = spawnSync(exe, [...pre, ...args], { cwd: REPO, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface WeftProcess {
  child: ChildProcess;
  /** Listener name → bound port. */
  listeners: Record<string, number>;
  adminPort: number;
  adminUrl: string;
  /** Everything weft wrote to stderr so far. */
  log(): string;
  /** GET (or other) on the admin endpoint. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  adminJson<T = unknown>(path: string): Promise<T>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Send a signal and wait for exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export function writeTempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-test-"));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/**
 * `args` with a `--base-id` of its own when it starts a proxy without one: the hot-restart control
 * socket is named after the base id (as Envoy's shared memory is), so tests running side by side
 * with the default 0 would take each other's socket.
 */
export function withOwnBaseId(args: string[]): string[] {
  if (args[0] !== "proxy" || args[1] !== "serve" || args.includes("--base-id") || args.includes("--help")) return args;
  // weft takes --base-id from 0 to 1,000,000.
  return [...args, "--base-id", String(1000 + Math.floor(Math.random() * 999_000))];
}

/** Start `weft <args>`; resolves once it prints "weft: ready". */
export function startWeft(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; exe?: [string, string[]] } = {}): Promise<WeftProcess> {
  const [exe, pre] = options.exe ?? weftCommand();
  args = withOwnBaseId(args);
  const child = spawn(exe, [...pre, ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`weft did not report ready in time; stderr:\n${stderr}\nstdout:\n${stdout}`));
    }, options.timeoutMs ?? 20_000);
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => {
      stderr += d;
      if (!stderr.includes("weft: ready\n")) return;
      clearTimeout(timer);
      const listeners: Record<string, number> = {};
      for (const m of stderr.matchAll(/weft: listener (\S+) on http:\/\/[^:]+:(\d+)/g)) listeners[m[1]!] = Number(m[2]);
      const admin = stderr.match(/weft: admin on (http:\/\/[^\s]+)/);
      const adminUrl = admin ? admin[1]! : "";
      const adminPort = adminUrl ? Number(new URL(adminUrl).port) : 0;
      const proc: WeftProcess = {
        child,
        listeners,
        adminPort,
        adminUrl,
        log: () => stderr,
        admin: (path, init) => fetch(adminUrl + path, init),
        async adminJson<T>(path: string) {
          const r = await fetch(adminUrl + path);
          if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
          return (await r.json()) as T;
        },
        exited,
        async stop(signal = "SIGTERM", timeoutMs = 15_000) {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          // process.kill, not child.kill: Deno's child_process reports (null, signal) for a child it
          // signalled itself, hiding the real exit code.
          process.kill(child.pid!, signal);
          let t: ReturnType<typeof setTimeout> | undefined;
          const code = await Promise.race([exited, new Promise<"timeout">((r) => (t = setTimeout(() => r("timeout"), timeoutMs)))]);
          clearTimeout(t);
          if (code === "timeout") {
            child.kill("SIGKILL");
            return await exited;
          }
          return code;
        },
      };
      resolve(proc);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`weft exited with ${code} before ready; stderr:\n${stderr}`));
    });
  });
}

/** Poll `check` until it returns a truthy value or the deadline passes (then throw with the last value). */
export async function eventually<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
