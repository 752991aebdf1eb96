/**
 * Issue 2, point 7: the standalone binary built by the compile recipe (`bun scripts/compile.ts`)
 * serves the embedded default config and proxies a request through the built-in upstream, and its
 * tunnel starts its workers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { RawConnection } from "./helpers/http_client.ts";
import { IS_BUN, REPO, startWeft } from "./helpers/weft_process.ts";

function bunExecutable(): string {
  if (IS_BUN) return process.execPath;
  return execFileSync("sh", ["-c", "command -v bun"], { encoding: "utf8" }).trim();
}

test("the compiled binary serves the default config and proxies a request", { timeout: 120_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), "weft-bin-")), "weft");
  execFileSync(bunExecutable(), ["scripts/compile.ts", out], { cwd: REPO, stdio: "pipe" });
  const version = execFileSync(out, ["--version"], { encoding: "utf8" }).trim();
  assert.match(version, /^\d+\.\d+\.\d+$/);
  const weft = await startWeft(["proxy", "serve", "--concurrency", "2"], { exe: [out, []] });
  try {
    assert.equal(weft.listeners.main, 10000);
    const c = await RawConnection.open(10000);
    const echo = await c.request("GET", "/echo/from-test");
    assert.equal(echo.status, 200);
    assert.match(echo.body, /^echo from weft's built-in upstream/);
    assert.match(echo.body, /GET \/echo\/from-test/);
    assert.ok(echo.headers["x-envoy-upstream-service-time"] !== undefined);
    const hello = await c.request("GET", "/hello");
    assert.equal(hello.body, "Hello from weft\n");
    c.close();
    assert.equal(await (await weft.admin("/ready")).text(), "LIVE\n");
  } finally {
    assert.equal(await weft.stop(), 0);
  }

  // The tunnel's workers start from the binary too.
  const dir = mkdtempSync(join(tmpdir(), "weft-bin-tunnel-"));
  execFileSync(out, ["tunnel", "ca", "init", "--dir", dir], { stdio: "pipe" });
  writeFileSync(join(dir, "local.yaml"), `workloads:
- uid: cluster1//v1/Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["127.0.77.12"]
  protocol: HBONE
  node: node-a
`);
  const tunnel = spawn(out, ["tunnel", "serve", "-c", join(dir, "local.yaml"), "--node", "node-a", "--bind", "127.0.77.2", "--ca", dir], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      let text = "";
      tunnel.stdout!.on("data", (d) => {
        text += d;
        if (text.includes("weft tunnel: ready")) resolve(text);
      });
      tunnel.on("exit", (code) => reject(new Error(`tunnel exited with ${code}`)));
    });
    assert.match(ready, /"admin":"127\.0\.77\.2:15000"/);
    const workers = await (await fetch("http://127.0.77.2:15000/workers")).json() as { workers: { status: string }[] };
    assert.deepEqual(workers.workers.map((w) => w.status), ["running", "running"]);
  } finally {
    process.kill(tunnel.pid!, "SIGTERM");
    await new Promise((r) => tunnel.on("exit", r));
  }
});
