/**
 * The command line: --version, --help, and `proxy validate` printing ok or every error with file,
 * line, column and path (exit 1), never a stack trace.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { REPO, startWeft, weftCommand, writeTempFile } from "./helpers/weft_process.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { bigBootstrapYaml } from "./helpers/big_bootstrap.ts";

function weft(...args: string[]) {
  const [exe, pre] = weftCommand();
  const r = spawnSync(exe, [...pre, ...args], { cwd: REPO, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("--version and --help", () => {
  const v = weft("--version");
  assert.equal(v.code, 0);
  assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const h = weft("proxy", "serve", "--help");
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--concurrency <n>/);
  assert.match(h.stdout, /--config-path <file>/);
});

test("proxy validate: ok for a good config", () => {
  const path = writeTempFile("ok.yaml", bootstrapYaml({ routes: `
              - match: { prefix: "/" }
                route: { cluster: a }`, clusters: [{ name: "a", endpoints: [8080] }] }));
  const r = weft("proxy", "validate", "-c", path);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "ok\n");
  assert.equal(r.code, 0);
});

test("proxy validate: every error with file, line, column and path, exit 1", () => {
  const yaml = bootstrapYaml({ routes: `
              - match: { prefix: "/" }
                route: { cluster: missing }`, clusters: [{ name: "a", endpoints: [8080] }] })
    .replace("port_value: 0 } }\n    filter_chains", "port_value: abc } }\n    filter_chains");
  const path = writeTempFile("bad.yaml", yaml);
  const r = weft("proxy", "validate", "-c", path);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, new RegExp(`^${path.replace(/[.]/g, "\\.")}:\\d+:\\d+: static_resources\\.listeners\\[0\\]\\.address\\.socket_address\\.port_value: `));
  assert.match(lines[1]!, /:\d+:\d+: static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.route_config\.virtual_hosts\[0\]\.routes\[0\]\.route\.cluster: .*missing/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

test("proxy serve with a missing file: a clear error, exit 1", () => {
  const r = weft("proxy", "serve", "-c", "/nonexistent/envoy.yaml");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^\/nonexistent\/envoy\.yaml: cannot read the config file/);
});

/** Runs `weft …` and samples its peak resident set (VmHWM) until it exits. */
function weftWithPeakRss(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; peakMiB: number }> {
  const [exe, pre] = weftCommand();
  const started = performance.now();
  const child = spawn(exe, [...pre, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: "1" } });
  let stdout = "", stderr = "", peakKiB = 0;
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const sample = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
    } catch { /* exited between two samples */ }
  }, 20);
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => {
    child.on("exit", (code) => {
      clearInterval(sample);
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: performance.now() - started, peakMiB: peakKiB / 1024 });
    });
  });
}

// Issue 17: a valid 24 MB file with 100,000 clusters. Before (2026-12-08, load average ~12 on the
// 2-core machine): Deno 2.9.6 took 149 s and 2.55 GiB, Bun 1.4.5 117 s and 2.71 GiB (the issue: 29–50 s, 2.7 GB);
// the yaml package's document model cost ~100 bytes per byte of input, and it was parsed twice.
// After (src/config/yaml_fast.ts, one pass, no second parse): Deno 5.8–12.6 s and 660–700 MiB,
// Bun 3.5–6 s and 1.0–1.3 GiB on the same machine.
test("proxy validate: a 24 MB bootstrap with 100,000 clusters in bounded time and memory", { timeout: 180_000 }, async () => {
  const path = writeTempFile("big.yaml", bigBootstrapYaml(100_000));
  const r = await weftWithPeakRss(["proxy", "validate", "-c", path], 150_000);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "ok\n");
  assert.equal(r.code, 0);
  assert.ok(r.ms < 60_000, `took ${Math.round(r.ms)} ms`);
  assert.ok(r.peakMiB < 1536, `peak RSS ${Math.round(r.peakMiB)} MiB`);
});

test("proxy serve refuses an empty --admin-token or WEFT_ADMIN_TOKEN (no request could authenticate) with one line, exit 1", { timeout: 60_000 }, async () => {
  const path = writeTempFile("token.yaml", bootstrapYaml({ routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200 }`, clusters: [] }));
  const cases: [string, string[], Record<string, string>][] = [
    ["--admin-token ''", ["--admin-token", ""], {}],
    ["WEFT_ADMIN_TOKEN=", [], { WEFT_ADMIN_TOKEN: "" }],
  ];
  for (const [what, flags, env] of cases) {
    const started = startWeft(["proxy", "serve", "-c", path, "--concurrency", "1", ...flags], { env });
    const refused = await started.then(async (p) => {
      await p.stop("SIGKILL");
      return null;
    }, (e: Error) => e.message);
    assert.ok(refused !== null, `${what} was accepted: admin would be locked for good`);
    assert.match(refused, /exited with 1 before ready/, refused);
    const errors = refused.split("stderr:\n")[1]!.trim().split("\n");
    assert.equal(errors.length, 1, refused);
    assert.match(errors[0]!, /--admin-token.*must not be empty/, refused);
  }
});

test("proxy serve takes its admin token from WEFT_ADMIN_TOKEN as from --admin-token", { timeout: 60_000 }, async () => {
  const path = writeTempFile("token.yaml", bootstrapYaml({ routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200 }`, clusters: [] }));
  const weft = await startWeft(["proxy", "serve", "-c", path, "--concurrency", "1"], { env: { WEFT_ADMIN_TOKEN: "from-env" } });
  try {
    assert.equal((await weft.admin("/ready")).status, 401);
    assert.equal((await weft.admin("/ready", { headers: { authorization: "Bearer wrong" } })).status, 401);
    const ok = await weft.admin("/ready", { headers: { authorization: "Bearer from-env" } });
    assert.equal(ok.status, 200, await ok.text());
  } finally {
    assert.equal(await weft.stop(), 0);
  }
});
