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
