/**
 * HBONE between runtimes: node-a on this test's runtime, node-b on the other one (from PATH, where
 * `npm test` puts the pinned devDependencies first; the test fails, naming it, when it is missing).
 * Both directions of the mTLS handshake and HTTP/2 CONNECT cross the Deno/Bun boundary.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { baseConfig, CLIENT_ID, IS_BUN, listenOn, makeWorkdir, run, SERVER_ID, slot, startTunnel, type TunnelProcess, writeConfig } from "./_harness.ts";

const S = slot(5);
const other = IS_BUN ? "deno" : "bun";
const haveOther = spawnSync(other, ["--version"]).status === 0;

test(`HBONE from a ${IS_BUN ? "Bun" : "Deno"} tunnel to a ${other} tunnel`, { timeout: 120_000 }, async () => {
  assert.ok(haveOther, `\`${other} --version\` fails: the other runtime must be on PATH (\`npm install\` puts the pinned one in node_modules/.bin; run the suite with \`npm test\`)`);
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const web = http.createServer((_req, res) => res.end(`hello from ${other}\n`));
  await listenOn(web, S.wl(3), 8080);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    [a, b] = await Promise.all([
      startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca }),
      startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca, runtime: other, extra: ["--log-format", "json"] }),
    ]);
    const info = await (await b.admin("/server_info")).json() as { runtime: string };
    assert.match(info.runtime, new RegExp(`^${other} `));
    const curl = await run("curl", ["-sS", "--max-time", "10", "--socks5", a.addresses.socks5, "--interface", S.wl(2), `http://${S.wl(3)}:8080/`]);
    assert.equal(curl.stdout, `hello from ${other}\n`, curl.stderr);
    const where = { reporter: "destination", source_principal: CLIENT_ID, destination_principal: SERVER_ID, connection_security_policy: "mutual_tls" };
    assert.ok(await b.metric("istio_tcp_connections_opened_total", where) >= 1);
    // --log-format json: one JSON object per closed connection, with ztunnel's keys.
    const line = await b.waitForLine((l) => l.startsWith("{") && l.includes('"connection complete"'), 5000, "JSON access log");
    const entry = JSON.parse(line);
    assert.equal(entry["src.identity"], CLIENT_ID);
    assert.equal(entry["dst.identity"], SERVER_ID);
    assert.equal(entry.direction, "inbound");
    assert.equal(entry["dst.addr"], `${S.wl(3)}:8080`);
    assert.ok(entry.bytes_recv > 0 && entry.bytes_sent > 0);
    assert.match(entry.duration, /^\d+ms$/);
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    web.close();
    await work.cleanup();
  }
});
