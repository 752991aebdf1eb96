import { test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines, type Expirable } from "./deadlines.ts";

function item(log: string[], name: string): Expirable {
  return { deadline: 0, expire: () => log.push(name) };
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
