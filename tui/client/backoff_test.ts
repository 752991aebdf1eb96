import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";
import { describeError, HttpStatusError, normalizeAdminUrl } from "./url.ts";

test("backoff doubles from 0.5 s to a 5 s cap", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 50].map((a) => backoffDelay(a)), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(backoffDelay(2, { initialMs: 10, maxMs: 100, factor: 3 }), 90);
});

test("admin URLs: default, bare host:port, trailing slash, bad scheme", () => {
  assert.equal(normalizeAdminUrl(undefined), "http://127.0.0.1:9901");
  assert.equal(normalizeAdminUrl("10.0.0.5:9901"), "http://10.0.0.5:9901");
  assert.equal(normalizeAdminUrl("https://edge.example:9901/"), "https://edge.example:9901");
  assert.throws(() => normalizeAdminUrl("ftp://x"), /scheme must be http or https/);
});

test("errors read the same on both runtimes", () => {
  assert.equal(
    describeError(new TypeError("fetch failed", { cause: new Error("tcp connect error: Connection refused (os error 111)") })),
    "connection refused",
  );
  assert.equal(describeError(new TypeError("ECONNREFUSED: Unable to connect. Is the computer able to access the url?")), "connection refused");
  assert.match(describeError(new HttpStatusError(401, "Unauthorized", "http://x/events")), /HTTP 401 .*--admin-token/);
});
