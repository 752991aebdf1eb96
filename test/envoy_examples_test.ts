/**
 * Envoy's own sandbox configs (test/fixtures/envoy-examples/, copied unchanged from
 * envoyproxy/examples) that need only what weft implements: `weft proxy validate` says ok.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO, weftCommand } from "./helpers/weft_process.ts";

const DIR = join(REPO, "test/fixtures/envoy-examples");
const EXAMPLES = readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();

test("the fixture folder holds the five examples its README lists", () => {
  assert.deepEqual(EXAMPLES, [
    "double-proxy_envoy.yaml",
    "front-proxy_service-envoy-2.yaml",
    "front-proxy_service-envoy.yaml",
    "tls_envoy-https-passthrough.yaml",
    "websocket_envoy-wss-passthrough.yaml",
  ]);
});

for (const name of EXAMPLES) {
  test(`proxy validate: Envoy's example ${name} is ok`, () => {
    const [exe, pre] = weftCommand();
    const r = spawnSync(exe, [...pre, "proxy", "validate", "-c", join(DIR, name)], { cwd: REPO, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "ok\n");
    assert.equal(r.status, 0);
  });
}
