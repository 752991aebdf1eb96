import { test } from "node:test";
import assert from "node:assert/strict";
import { AdminRegistry, text } from "./registry.ts";

test("dispatches by path, refuses the wrong method with 405, lists paths on /help", async () => {
  const admin = new AdminRegistry({ token: null });
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  admin.add({ path: "/quitquitquit", method: "POST", help: "exit", handle: () => text(200, "OK\n") });
  admin.add({ path: "/debug/x", method: "POST", help: "hook", hidden: true, handle: () => text(200, "x") });
  assert.equal(await (await admin.handle(new Request("http://a/ready"))).text(), "LIVE\n");
  const r = await admin.handle(new Request("http://a/quitquitquit"));
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "POST");
  assert.match(await r.text(), /requires POST/);
  assert.equal((await admin.handle(new Request("http://a/nope"))).status, 404);
  const help = await (await admin.handle(new Request("http://a/help"))).text();
  assert.match(help, /\/quitquitquit \(POST\): exit/);
  assert.doesNotMatch(help, /debug/);
});

test("a bearer token guards every path", async () => {
  const admin = new AdminRegistry({ token: "s3cret" });
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  assert.equal((await admin.handle(new Request("http://a/ready"))).status, 401);
  const ok = await admin.handle(new Request("http://a/ready", { headers: { authorization: "Bearer s3cret" } }));
  assert.equal(ok.status, 200);
});

test("a wrong, longer, shorter or differently cased token is refused like a missing one", async () => {
  const admin = new AdminRegistry({ token: "s3cret" });
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  for (const value of ["Bearer s3cre", "Bearer s3cret-", "Bearer S3CRET", "bearer s3cret", "s3cret", ""]) {
    const r = await admin.handle(new Request("http://a/ready", { headers: { authorization: value } }));
    assert.equal(r.status, 401, value);
  }
});

test("without a token, a state-changing request from another site is refused with 403", async () => {
  const admin = new AdminRegistry({ token: null });
  let quits = 0;
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  admin.add({ path: "/quitquitquit", method: "POST", help: "exit", handle: () => text(200, `OK ${++quits}\n`) });
  const post = (headers: Record<string, string>) => admin.handle(new Request("http://127.0.0.1:9901/quitquitquit", { method: "POST", headers }));
  const crossSite: Record<string, string>[] = [{ origin: "http://evil.example" }, { origin: "http://127.0.0.1:9902" }, { origin: "null" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }];
  for (const headers of crossSite) {
    const r = await post(headers);
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.match(await r.text(), /^refused: a POST from another site \((Origin|Sec-Fetch-Site): /);
  }
  assert.equal(quits, 0);
  assert.equal((await post({})).status, 200, "no Origin: curl");
  assert.equal((await post({ origin: "http://127.0.0.1:9901", "sec-fetch-site": "same-origin" })).status, 200, "the admin page itself");
  assert.equal((await post({ "sec-fetch-site": "none" })).status, 200, "typed in the address bar");
  const read = await admin.handle(new Request("http://127.0.0.1:9901/ready", { headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" } }));
  assert.equal(read.status, 200, "reads are not refused");
  assert.equal(quits, 3);
});
