/** `weft tunnel ca init` and `weft tunnel validate` as a user runs them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { IS_BUN, run, withTimeout } from "./_harness.ts";

const ENTRY = fileURLToPath(new URL("./_entry.ts", import.meta.url));
const weft = (...args: string[]) => run(process.execPath, IS_BUN ? [ENTRY, ...args] : ["run", "-A", ENTRY, ...args]);

/**
 * Runs `weft tunnel serve` until it exits or says it is ready (then it is killed: a serve that
 * should have refused its arguments must not outlive the test); resolves with its exit code
 * (null when it got ready) and its output.
 */
function serveUntilReadyOrExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = ["tunnel", "serve", ...args];
  const child = spawn(process.execPath, IS_BUN ? [ENTRY, ...argv] : ["run", "-A", ENTRY, ...argv], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.stdout!.on("data", (d) => {
      stdout += d;
      if (stdout.includes("weft tunnel: ready")) child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => resolve({ code: signal ? null : code, stdout, stderr }));
  });
  return withTimeout(done, 30_000, `tunnel serve ${args.join(" ")}`).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
}

test("ca init writes a CA once; validate reports file:line:col and the YAML path", { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
  try {
    const ca = join(dir, "ca");
    const first = await weft("tunnel", "ca", "init", "--dir", ca);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /ca-key\.pem and .*ca-cert\.pem/);
    const again = await weft("tunnel", "ca", "init", "--dir", ca);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);

    const bad = join(dir, "local.yaml");
    await writeFile(bad, "workloads:\n- name: a\n  namespace: default\n  workloadIps: [127.0.1.2]\n  protocl: HBONE\n");
    const v = await weft("tunnel", "validate", "-c", bad);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /local\.yaml:5:3: workloads\[0\]\.protocl: unknown field "protocl"/);
    await writeFile(bad, "workloads:\n- name: a\n  namespace: default\n  workloadIps: [127.0.1.2]\n  protocol: HBONE\n");
    const ok = await weft("tunnel", "validate", "-c", bad);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: 1 workloads/);

    const serve = await weft("tunnel", "serve", "-c", join(dir, "missing.yaml"), "--node", "n", "--bind", "127.0.0.1", "--ca", ca);
    assert.equal(serve.code, 1);
    assert.match(serve.stderr, /missing\.yaml/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("validate reads the workload file as the bootstrap is read: UTF-16 with a byte order mark, invalid UTF-8 refused with its position", { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
  try {
    const text = "workloads:\n- name: caf\u00e9\n  namespace: default\n  workloadIps: [127.0.1.2]\n";
    const utf16 = join(dir, "utf16.yaml");
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
    const ok = await weft("tunnel", "validate", "-c", utf16);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: 1 workloads/);

    const latin1 = join(dir, "latin1.yaml");
    await writeFile(latin1, Buffer.from(text, "latin1"));
    const bad = await weft("tunnel", "validate", "-c", latin1);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /latin1\.yaml:2:12: the file is not valid UTF-8 \(byte 0xe9\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("serve --help names the admin address, port and token options", { timeout: 60_000 }, async () => {
  const help = await weft("tunnel", "serve", "--help");
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--admin-address <ip>[\s\S]*default: "127\.0\.0\.1"/);
  assert.match(help.stdout, /--admin-token <token>[\s\S]*env: WEFT_ADMIN_TOKEN/);
  // Help wraps at the terminal's width: any whitespace between words.
  assert.match(help.stdout, /--bind <ip>\s+this\s+node's\s+own\s+address\s+\(metrics,\s+readiness\s+and\s+outbound\s+listeners\)/);
});

/**
 * Runs `body` with the arguments of a `tunnel serve` that would start (a fresh CA, an empty config,
 * every port 0) but for what `body` adds; removes the files after.
 */
async function withServeArgs(body: (args: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
  try {
    const ca = join(dir, "ca");
    assert.equal((await weft("tunnel", "ca", "init", "--dir", ca)).code, 0);
    const config = join(dir, "local.yaml");
    await writeFile(config, "workloads: []\n");
    await body(["-c", config, "--node", "n", "--ca", ca, "--admin-port", "0", "--metrics-port", "0", "--readiness-port", "0", "--outbound-port", "0", "--socks5-port", "0"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("serve refuses an --admin-address or --bind that is not an IP address (an empty one listened on every address) and a bad number, with a message, not a stack trace", { timeout: 120_000 }, async () => {
  await withServeArgs(async (base) => {
    const serve = (...extra: string[]) => serveUntilReadyOrExit([...base, ...extra]);
    for (const [flag, value] of [["--admin-address", ""], ["--admin-address", "0x7f.1"], ["--bind", ""], ["--bind", "127.0.0.1."]] as const) {
      const args = flag === "--bind" ? [flag, value] : ["--bind", "127.0.0.1", flag, value];
      const r = await serve(...args);
      assert.equal(r.code, 1, `${flag} "${value}" was accepted:\n${r.stdout}\n${r.stderr}`);
      assert.ok(r.stderr.includes(`option '${flag} <ip>' argument '${value}' is invalid. ${flag} must be an IP address (or localhost), got "${value}"`), r.stderr);
      assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
    }
    const workers = await serve("--bind", "127.0.0.1", "--workers", "0");
    assert.equal(workers.code, 1);
    assert.ok(workers.stderr.includes(`option '--workers <n>' argument '0' is invalid. --workers must be an integer from 1 to 255, got "0"`), workers.stderr);
    assert.doesNotMatch(workers.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  });
});

test("serve refuses an empty --admin-token or WEFT_ADMIN_TOKEN (no request could authenticate) with one line, exit 1", { timeout: 120_000 }, async () => {
  await withServeArgs(async (base) => {
    const args = [...base, "--bind", "127.0.0.1"];
    for (const [what, extra, env] of [["--admin-token ''", ["--admin-token", ""], {}], ["WEFT_ADMIN_TOKEN=", [], { WEFT_ADMIN_TOKEN: "" }]] as const) {
      const r = await serveUntilReadyOrExit([...args, ...extra], env);
      assert.equal(r.code, 1, `${what} was accepted: admin would be locked for good\n${r.stdout}\n${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /--admin-token.*must not be empty/);
    }
  });
});
