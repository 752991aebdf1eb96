import { test } from "node:test";
import assert from "node:assert/strict";
import { Drain } from "./drain.ts";

test("drain stops listeners and resolves when tracked connections finish", async () => {
  const d = new Drain();
  let stopped = 0;
  d.onStart(() => stopped++);
  const release = d.track(() => assert.fail("must not force-close"));
  const p = d.start(5000);
  assert.equal(stopped, 1);
  assert.ok(d.draining);
  setTimeout(release, 10);
  const r = await p;
  assert.equal(r.forced, 0);
});

test("drain force-closes what remains at the deadline", async () => {
  const d = new Drain();
  let forced = 0;
  d.track(() => forced++);
  d.track(() => forced++);
  const r = await d.start(20);
  assert.equal(r.forced, 2);
  assert.equal(forced, 2);
  assert.equal(d.open, 0);
});

test("drain with nothing open is immediate; late onStart runs at once", async () => {
  const d = new Drain();
  assert.deepEqual((await d.start(1000)).forced, 0);
  let ran = false;
  d.onStart(() => (ran = true));
  assert.ok(ran);
});
