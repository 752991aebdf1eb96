/** `weft tunnel ca init` and `weft tunnel validate` as a user runs them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { IS_BUN, run } from "./_harness.ts";

const ENTRY = fileURLToPath(new URL("./_entry.ts", import.meta.url));
const weft = (...args: string[]) => run(process.execPath, IS_BUN ? [ENTRY, ...args] : ["run", "-A", ENTRY, ...args]);

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

test("serve --help names the admin address, port and token options", { timeout: 60_000 }, async () => {
  const help = await weft("tunnel", "serve", "--help");
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--admin-address <ip>[\s\S]*default: "127\.0\.0\.1"/);
  assert.match(help.stdout, /--admin-token <token>[\s\S]*env: WEFT_ADMIN_TOKEN/);
  // Help wraps at the terminal's width: any whitespace between words.
  assert.match(help.stdout, /--bind <ip>\s+this\s+node's\s+own\s+address\s+\(metrics,\s+readiness\s+and\s+outbound\s+listeners\)/);
});
