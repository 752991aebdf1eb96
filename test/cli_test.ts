/**
 * The command line: --version, --help, and `proxy validate` printing ok or every error with file,
 * line, column and path (exit 1), never a stack trace.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { REPO, weftCommand, writeTempFile } from "./helpers/weft_process.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";

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
