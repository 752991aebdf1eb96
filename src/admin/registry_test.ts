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
  admin.servedAt("127.0.0.1:9901");
  let quits = 0;
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  admin.add({ path: "/quitquitquit", method: "POST", help: "exit", handle: () => text(200, `OK ${++quits}\n`) });
  const post = (headers: Record<string, string>) => admin.handle(new Request("http://127.0.0.1:9901/quitquitquit", { method: "POST", headers }));
  const crossSite: Record<string, string>[] = [
    { origin: "http://evil.example" },
    { origin: "http://127.0.0.1:9902" },
    { origin: "https://127.0.0.1:9901" },
    { origin: "http://localhost" },
    { origin: "null" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" },
  ];
  for (const headers of crossSite) {
    const r = await post(headers);
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.match(await r.text(), /^refused: a POST from another site \((Origin|Sec-Fetch-Site): /);
  }
  assert.equal(quits, 0);
  assert.equal((await post({})).status, 200, "no Origin: curl");
  assert.equal((await post({ origin: "http://127.0.0.1:9901", "sec-fetch-site": "same-origin" })).status, 200, "the admin page itself");
  assert.equal((await post({ origin: "http://localhost:9901" })).status, 200, "the admin page itself, by the name localhost");
  assert.equal((await post({ "sec-fetch-site": "none" })).status, 200, "typed in the address bar");
  const read = await admin.handle(new Request("http://127.0.0.1:9901/ready", { headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" } }));
  assert.equal(read.status, 200, "reads are not refused");
  assert.equal(quits, 4);
});

test("without a token, only requests whose Host names admin itself are answered (DNS rebinding)", async () => {
  const admin = new AdminRegistry({ token: null });
  admin.servedAt("[::1]:15000");
  let quits = 0;
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  admin.add({ path: "/quitquitquit", method: "POST", help: "exit", handle: () => text(200, `OK ${++quits}\n`) });
  const request = (method: string, host: string, origin?: string) =>
    admin.handle(new Request("http://[::1]:15000/" + (method === "POST" ? "quitquitquit" : "ready"), { method, headers: { host, ...(origin ? { origin } : {}) } }));
  // A rebound page: its own name and port, same-origin to the browser.
  for (const host of ["evil.example:15000", "localhost.evil.example:15000", "127.0.0.1.nip.io:15000", "localhost.:15000", "x/quitquitquit?", ""]) {
    for (const method of ["GET", "POST"]) {
      const r = await request(method, host, host === "" ? undefined : `http://${host}`);
      assert.equal(r.status, 403, `${method} Host ${JSON.stringify(host)}`);
      assert.match(await r.text(), /^refused: Host .* does not name this admin endpoint \(use an IP address, localhost or \[::1\]\)/);
    }
  }
  assert.equal(quits, 0);
  for (const host of ["[::1]:15000", "127.0.0.1:15000", "localhost:15000", "LocalHost", "192.0.2.7:15000"]) {
    assert.equal((await request("GET", host)).status, 200, host);
  }
  assert.equal((await request("POST", "localhost:15000", "http://[::1]:15000")).status, 200, "Origin: admin by its bound address");
  assert.equal((await request("POST", "[::1]:15000", "http://localhost:15000")).status, 200, "Origin: admin by the name localhost");
  const wrongPort = await request("POST", "localhost:15000", "http://localhost:3000");
  assert.equal(wrongPort.status, 403, "a page of another local server");
  assert.equal(quits, 2);
});

test("with a token, the Host is not checked: the token decides", async () => {
  const admin = new AdminRegistry({ token: "s3cret" });
  admin.add({ path: "/ready", help: "state", handle: () => text(200, "LIVE\n") });
  const r = await admin.handle(new Request("http://admin.internal:9901/ready", { headers: { host: "admin.internal:9901", authorization: "Bearer s3cret" } }));
  assert.equal(r.status, 200);
});
