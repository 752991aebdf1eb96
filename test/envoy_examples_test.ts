/**
 * Envoy's own sandbox configs (test/fixtures/envoy-examples/, copied unchanged from
 * envoyproxy/examples) that need only what weft implements: `weft proxy validate` says ok.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO, runWeft } from "./helpers/weft_process.ts";

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
    const r = runWeft("proxy", "validate", "-c", join(DIR, name));
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "ok\n");
    assert.equal(r.code, 0);
  });
}
