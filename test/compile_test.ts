/**
 * Issue 2, point 7: the standalone binary built by the compile recipe (`bun scripts/compile.ts`)
 * runs: it serves a config the test writes (ports 0) on two workers and proxies a request to a test
 * upstream, and its tunnel starts its workers (ports 0). No fixed port: the embedded default config's
 * 10000, 9901 and 10001 may be taken on the machine running the tests, so the built-in echo upstream's
 * worker (fixed on 10001) is not started here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { RawConnection } from "./helpers/http_client.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { IS_BUN, REPO, startWeft, writeTempFile } from "./helpers/weft_process.ts";
import type { WorkersResponse } from "../src/admin/wire.ts";

/** Bun builds the binary: this runtime under `bun test`, else `bun` from PATH (`npm test` puts the pinned one first). */
function bunExecutable(): string {
  if (IS_BUN) return process.execPath;
  const found = spawnSync("sh", ["-c", "command -v bun"], { encoding: "utf8" }).stdout.trim();
  assert.ok(found !== "", "`bun` is not on PATH: `npm install` puts the pinned one in node_modules/.bin; run the suite with `npm test`");
  return found;
}

test("the compiled binary serves a config and proxies a request", { timeout: 120_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), "weft-bin-")), "weft");
  execFileSync(bunExecutable(), ["scripts/compile.ts", out], { cwd: REPO, stdio: "pipe" });
  const version = execFileSync(out, ["--version"], { encoding: "utf8" }).trim();
  assert.match(version, /^\d+\.\d+\.\d+$/);
  const up = await startUpstream("up");
  const config = writeTempFile("envoy.yaml", bootstrapYaml({
    routes: `
              - match: { path: "/hello" }
                direct_response: { status: 200, body: { inline_string: "Hello from weft\\n" } }
              - match: { prefix: "/" }
                route: { cluster: up }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  }));
  const weft = await startWeft(["proxy", "serve", "-c", config, "--concurrency", "2"], { exe: [out, []] });
  try {
    const c = await RawConnection.open(weft.listeners.edge!);
    const proxied = await c.request("GET", "/echo/from-test");
    assert.equal(proxied.status, 200);
    assert.equal(proxied.body, "upstream=up GET /echo/from-test body=0");
    assert.ok(proxied.headers["x-envoy-upstream-service-time"] !== undefined);
    const hello = await c.request("GET", "/hello");
    assert.equal(hello.body, "Hello from weft\n");
    c.close();
    assert.equal(await (await weft.admin("/ready")).text(), "LIVE\n");
    const workers = await weft.adminJson<WorkersResponse>("/workers");
    assert.deepEqual(workers.workers.map((w) => w.status), ["running", "running"]);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
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
  const ports = ["--admin-port", "--metrics-port", "--readiness-port", "--outbound-port", "--socks5-port", "--inbound-plaintext-port", "--hbone-port"].flatMap((flag) => [flag, "0"]);
  const tunnel = spawn(out, ["tunnel", "serve", "-c", join(dir, "local.yaml"), "--node", "node-a", "--bind", "127.0.77.2", "--ca", dir, ...ports], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      let text = "";
      tunnel.stdout!.on("data", (d) => {
        text += d;
        const line = /^weft tunnel: ready (.*)$/m.exec(text);
        if (line) resolve(line[1]!);
      });
      tunnel.on("exit", (code) => reject(new Error(`tunnel exited with ${code}`)));
    });
    const { admin } = JSON.parse(ready) as { admin: string };
    assert.doesNotMatch(admin, /:0$/, "the ready line reports the bound admin port");
    const workers = await (await fetch(`http://${admin}/workers`)).json() as { workers: { status: string }[] };
    assert.deepEqual(workers.workers.map((w) => w.status), ["running", "running"]);
  } finally {
    process.kill(tunnel.pid!, "SIGTERM");
    await new Promise((r) => tunnel.on("exit", r));
  }
});
