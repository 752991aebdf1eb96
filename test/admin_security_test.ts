/**
 * The admin endpoint against a web page and a shared machine: a cross-site POST is refused when no
 * token guards admin, `WEFT_TEST_HOOKS` turns hooks on only for `1`, and the hot-restart control
 * socket lives in a directory only its user can open.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { IS_BUN, REPO, startWeft, writeTempFile } from "./helpers/weft_process.ts";
import { withTimeout } from "./helpers/timeout.ts";

const CONFIG = bootstrapYaml({
  clusters: [],
  routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "ok" } }`,
});

/** One admin request with exactly these headers (node:http adds no Origin or Sec-Fetch-* of its own). */
function adminRequest(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    }),
    10_000,
    `${method} ${path}`,
  );
}

/** `curl` as a user runs it: status code and body. */
function curl(args: string[]): Promise<{ status: number; body: string }> {
  const child = spawn("curl", ["-s", "-m", "10", "-w", "\n%{http_code}", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return withTimeout(
    new Promise((resolve) =>
      child.on("exit", () => {
        const nl = out.lastIndexOf("\n");
        resolve({ status: Number(out.slice(nl + 1)), body: out.slice(0, nl) });
      })
    ),
    15_000,
    "curl",
  );
}

test("without a token, a POST from another site is refused with 403; GETs and curl still work", async () => {
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", CONFIG), "--concurrency", "1"]);
  try {
    const port = weft.adminPort;
    const own = `http://127.0.0.1:${port}`;
    // Another port on this machine is another site too: a local dev server's page.
    const crossSite: Record<string, string>[] = [{ origin: "http://evil.example" }, { origin: "null" }, { origin: "http://localhost:1" }, { origin: "http://127.0.0.1:1" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }];
    for (const headers of crossSite) {
      const r = await adminRequest(port, "POST", "/healthcheck/fail", headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(r.body, /refused: a POST from another site/, JSON.stringify(headers));
    }
    const failed = async () => (await weft.adminJson<{ health_check_failed: boolean }>("/server_info")).health_check_failed;
    assert.equal(await failed(), false, "no refused request changed anything");
    // Reads from anywhere, and mutations from the admin page itself or from a non-browser client, pass.
    assert.equal((await adminRequest(port, "GET", "/ready", { origin: "http://evil.example", "sec-fetch-site": "cross-site" })).status, 200);
    assert.equal((await adminRequest(port, "POST", "/healthcheck/ok", { origin: own, "sec-fetch-site": "same-origin" })).status, 200);
    const viaCurl = await curl(["-X", "POST", `${own}/healthcheck/fail`]);
    assert.deepEqual(viaCurl, { status: 200, body: "OK\n" });
    assert.equal(await failed(), true);
  } finally {
    await weft.stop();
  }
});

test("with a token, the token decides: a cross-site POST that carries it passes", async () => {
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", CONFIG), "--concurrency", "1", "--admin-token", "s3cret"]);
  try {
    const port = weft.adminPort;
    assert.equal((await adminRequest(port, "POST", "/healthcheck/fail", { origin: "http://evil.example" })).status, 401);
    assert.equal((await adminRequest(port, "GET", "/ready", { authorization: "Bearer s3creT" })).status, 401);
    assert.equal((await adminRequest(port, "GET", "/ready", { authorization: "Bearer s3cret-and-more" })).status, 401);
    const r = await adminRequest(port, "POST", "/healthcheck/fail", { origin: "http://tool.example", authorization: "Bearer s3cret" });
    assert.equal(r.status, 200);
  } finally {
    await weft.stop();
  }
});

/**
 * DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 talks to admin as its
 * own origin, so the browser sends `Host: evil.example:<port>`, a matching `Origin` and
 * `Sec-Fetch-Site: same-origin`. Every request, read or write, addressed so is refused.
 */
async function assertRebindingRefused(port: number, mutation: string, stillServing: string): Promise<void> {
  const evil = `evil.example:${port}`;
  const rebound = ["-H", `Host: ${evil}`, "-H", `Origin: http://${evil}`, "-H", "Sec-Fetch-Site: same-origin"];
  const post = await curl(["-X", "POST", ...rebound, `http://127.0.0.1:${port}${mutation}`]);
  assert.equal(post.status, 403, post.body);
  assert.match(post.body, /^refused: Host evil\.example:\d+ does not name this admin endpoint/);
  const read = await curl([...rebound, `http://127.0.0.1:${port}/config_dump`]);
  assert.equal(read.status, 403, "reads too: a rebound page could read the config and stats");
  for (const host of ["localhost.evil.example", "127.0.0.1.nip.io", "localhost."]) {
    assert.equal((await adminRequest(port, "GET", stillServing, { host: `${host}:${port}` })).status, 403, host);
  }
  // Names that cannot be re-pointed: IP literals and localhost (browsers resolve it to loopback).
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `10.1.2.3:${port}`, "127.0.0.1"]) {
    assert.equal((await adminRequest(port, "GET", stillServing, { host })).status, 200, host);
  }
}

test("without a token, proxy admin answers only requests addressed to itself (DNS rebinding)", async () => {
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", CONFIG), "--concurrency", "1"]);
  try {
    const port = weft.adminPort;
    await assertRebindingRefused(port, "/healthcheck/fail", "/ready");
    const failed = async () => (await weft.adminJson<{ health_check_failed: boolean }>("/server_info")).health_check_failed;
    assert.equal(await failed(), false, "the rebound POST changed nothing");
    // The admin page itself, by either of its names, still changes state.
    const own = await adminRequest(port, "POST", "/healthcheck/fail", { host: `localhost:${port}`, origin: `http://localhost:${port}`, "sec-fetch-site": "same-origin" });
    assert.equal(own.status, 200, own.body);
    assert.equal(await failed(), true);
  } finally {
    await weft.stop();
  }
});

test("without a token, tunnel admin answers only requests addressed to itself (DNS rebinding)", async () => {
  const tunnel = await startTunnel({});
  try {
    await assertRebindingRefused(tunnel.adminPort, "/quitquitquit", "/server_info");
    const info = await adminRequest(tunnel.adminPort, "GET", "/server_info");
    assert.equal(info.status, 200, "the rebound /quitquitquit did not stop the tunnel");
    assert.equal((JSON.parse(info.body) as { state: string }).state, "LIVE");
  } finally {
    await tunnel.stop();
  }
});

for (const [value, enabled] of [["0", false], ["", false], ["true", false], ["1", true]] as const) {
  test(`proxy: WEFT_TEST_HOOKS=${JSON.stringify(value)} ${enabled ? "turns test hooks on" : "leaves test hooks off"}`, async () => {
    const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", CONFIG), "--concurrency", "1"], { env: { WEFT_TEST_HOOKS: value } });
    try {
      // A bad argument: 400 from the hook when it exists, 404 when it does not.
      const r = await adminRequest(weft.adminPort, "POST", "/debug/block_worker?worker=x");
      assert.equal(r.status, enabled ? 400 : 404, r.body);
    } finally {
      await weft.stop();
    }
  });
}

/** A tunnel with every port 0 and admin on 127.0.0.1, in a directory of its own; `stop` kills it and removes the directory. */
async function startTunnel(env: Record<string, string>): Promise<{ adminPort: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "weft-tunnel-admin-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const entry = fileURLToPath(new URL("./tunnel/_entry.ts", import.meta.url));
  const [exe, pre] = IS_BUN ? [process.execPath, [entry]] : [process.execPath, ["run", "-A", entry]];
  const ca = await run(exe, [...pre, "tunnel", "ca", "init", "--dir", join(dir, "ca")], {});
  if (ca.code !== 0) {
    removeDir();
    throw new Error(`tunnel ca init failed: ${ca.stderr}`);
  }
  const config = join(dir, "local.yaml");
  writeFileSync(config, "workloads: []\n");
  const ports = ["--admin-port", "--metrics-port", "--readiness-port", "--outbound-port", "--socks5-port", "--hbone-port", "--inbound-plaintext-port"].flatMap((p) => [p, "0"]);
  const child = spawn(exe, [...pre, "tunnel", "serve", "-c", config, "--node", "n", "--bind", "127.0.0.1", "--ca", join(dir, "ca"), "--workers", "1", ...ports], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((r) => child.on("exit", r));
  const stop = async () => {
    child.kill("SIGKILL");
    await withTimeout(exited, 10_000, "the tunnel's exit");
    removeDir();
  };
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  try {
    const ready = await withTimeout(
      new Promise<string>((resolve) =>
        child.stdout!.on("data", (d) => {
          out += d;
          const m = out.match(/weft tunnel: ready (.*)\n/);
          if (m) resolve(m[1]!);
        })
      ),
      30_000,
      "the tunnel's ready line",
    );
    const admin = (JSON.parse(ready) as { admin: string }).admin;
    return { adminPort: Number(admin.split(":").pop()), stop };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}; stderr:\n${err}`);
  }
}

for (const [value, enabled] of [["0", false], ["1", true]] as const) {
  test(`tunnel: WEFT_TEST_HOOKS=${value} ${enabled ? "turns test hooks on" : "leaves test hooks off"}`, async () => {
    const tunnel = await startTunnel({ WEFT_TEST_HOOKS: value });
    try {
      const r = await adminRequest(tunnel.adminPort, "POST", "/debug/crash_worker?worker=x");
      assert.equal(r.status, enabled ? 400 : 404, r.body);
    } finally {
      await tunnel.stop();
    }
  });
}

function run(exe: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(exe, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return withTimeout(new Promise((r) => child.on("exit", (code) => r({ code, stderr }))), 30_000, `${exe} ${args.join(" ")}`);
}

const UID = process.getuid?.() ?? 0;

/** Start the proxy with its temporary directory at `tmp`; resolves with its stderr once it exited or is ready. */
async function proxyWithTmp(tmp: string): Promise<{ ok: true; stop(): Promise<unknown> } | { ok: false; log: string }> {
  try {
    // Its own TMPDIR, so the default base id 0 collides with nobody.
    const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", CONFIG), "--concurrency", "1", "--base-id", "0"], { env: { TMPDIR: tmp } });
    return { ok: true, stop: () => weft.stop() };
  } catch (e) {
    return { ok: false, log: (e as Error).message };
  }
}

test("the hot-restart control socket lives in a directory only its user can open", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "weft-hr-"));
  try {
    chmodSync(tmp, 0o1777); // like /tmp
    const started = await proxyWithTmp(tmp);
    assert.ok(started.ok, started.ok ? "" : started.log);
    try {
      const dir = join(tmp, `weft-hot-restart-${UID}`);
      const st = lstatSync(dir);
      assert.ok(st.isDirectory());
      assert.equal(st.mode & 0o777, 0o700);
      assert.equal(st.uid, UID);
      assert.deepEqual(readdirSync(dir), ["base-0-epoch-0.sock"]);
      assert.deepEqual(readdirSync(tmp), [`weft-hot-restart-${UID}`], "nothing else in the shared directory");
    } finally {
      await started.stop();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const UNSAFE: [string, (dir: string) => void, RegExp][] = [
  ["open to others (0755)", (dir) => {
    mkdirSync(dir);
    chmodSync(dir, 0o755);
  }, /permissions 755.*only its owner/],
  ["a symbolic link", (dir) => {
    mkdirSync(dir + "-target", { mode: 0o700 });
    symlinkSync(dir + "-target", dir);
  }, /is not a directory/],
  ["a file", (dir) => writeFileSync(dir, ""), /is not a directory/],
];
if (UID === 0) {
  UNSAFE.push(["owned by another user", (dir) => {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
  }, /owned by uid 65534/]);
}

for (const [what, make, message] of UNSAFE) {
  test(`a pre-existing control directory that is ${what} is refused`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), "weft-hr-"));
    try {
      const dir = join(tmp, `weft-hot-restart-${UID}`);
      make(dir);
      const started = await proxyWithTmp(tmp);
      if (started.ok) await started.stop();
      assert.ok(!started.ok, "weft started with an unsafe control directory");
      assert.match(started.log, /hot restart control directory/);
      assert.match(started.log, message);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
