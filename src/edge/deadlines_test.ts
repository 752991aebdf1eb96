import { test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines, type Expirable } from "./deadlines.ts";

function item(log: string[], name: string): Expirable {
  return { deadline: 0, slot: -1, expire: () => log.push(name) };
}

test("armed items expire once after their deadline; disarmed ones never", async () => {
  const d = new Deadlines();
  const log: string[] = [];
  const soon = item(log, "soon");
  const later = item(log, "later");
  const cancelled = item(log, "cancelled");
  const now = performance.now();
  d.arm(soon, now + 10);
  d.arm(later, now + 60_000);
  d.arm(cancelled, now + 10);
  d.disarm(cancelled);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(log, ["soon"]);
  assert.equal(soon.deadline, 0);
  d.disarm(later);
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(log, ["soon"]);
});

test("an item whose expiry disarms another due item: the other does not expire", async () => {
  const d = new Deadlines();
  const log: string[] = [];
  const second = item(log, "second");
  const first: Expirable = { deadline: 0, slot: -1, expire: () => (log.push("first"), d.disarm(second)) };
  const now = performance.now();
  d.arm(first, now + 5);
  d.arm(second, now + 5);
  const until = performance.now() + 2000;
  while (log.length === 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 120)); // one more tick
  assert.deepEqual(log, ["first"]);
  assert.equal(second.deadline, 0);
});
