import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { createPoolOwners, markWorkerDead, PoolOwners, slotOf } from "./pool_owners.ts";

test("an idle key goes to the worker that needs it; a busy key stays where its streams are", () => {
  const shared = createPoolOwners();
  const w0 = new PoolOwners(shared, 0);
  const w1 = new PoolOwners(shared, 1);
  assert.deepEqual(w0.peek("k"), { owner: -1, inFlight: 0 });

  const a = w1.acquire("k");
  assert.equal(a.owner, 1, "never taken: the asking worker takes it");
  const b = w0.acquire("k");
  assert.equal(b.owner, 1, "in flight on worker 1: worker 0 forwards to it");
  assert.deepEqual(w0.peek("k"), { owner: 1, inFlight: 2 });
  w1.release(a);
  const c = w0.acquire("k");
  assert.equal(c.owner, 1, "still one in flight on worker 1");
  w0.release(b);
  w0.release(c);
  assert.deepEqual(w0.peek("k"), { owner: 1, inFlight: 0 });

  const d = w0.acquire("k");
  assert.equal(d.owner, 0, "idle: worker 0 takes it");
  w0.release(d);
  const e = w0.acquire("k");
  assert.equal(e.owner, 0, "idle and already its own");
  w0.release(e);
});

test("keys hash into slots stably and spread", () => {
  assert.equal(slotOf("a|b", 1), 0);
  assert.equal(slotOf("a|b", 4096), slotOf("a|b", 4096));
  assert.equal(new Set(Array.from({ length: 64 }, (_, i) => slotOf(`key${i}`, 4))).size, 4);
});

test("a worker id beyond the owner field is refused", () => {
  assert.throws(() => new PoolOwners(createPoolOwners(), 255), RangeError);
});

// Four threads acquire and release one key as fast as they can (_pool_owners_race.ts): while a
// claim is held, the slot's owner must not change, and the count must come back to zero.
test("claims held at the same time agree on the owner, across threads", async () => {
  const shared = createPoolOwners();
  const start = new SharedArrayBuffer(8);
  const gate = new Int32Array(start);
  const rounds = 5_000;
  const workers = Array.from({ length: 4 }, (_, self) =>
    new Worker(new URL("./_pool_owners_race.ts", import.meta.url), { workerData: { shared, self, rounds, start } })
  );
  const results = workers.map((w) =>
    new Promise<{ disagreements: number }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    })
  );
  // Every thread at the gate before it opens, so they really run at once.
  for (let i = 0; Atomics.load(gate, 1) < workers.length; i++) {
    assert.ok(i < 3000, "the racing threads start");
    await new Promise((r) => setTimeout(r, 10));
  }
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  const all = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  assert.equal(all.reduce((n, r) => n + r.disagreements, 0), 0);
  assert.equal(new PoolOwners(shared, 0).peek("race-key").inFlight, 0);
});

test("a dead worker's keys go to the next worker that needs them, and stale claims release nothing", () => {
  const shared = createPoolOwners();
  const w0 = new PoolOwners(shared, 0);
  const w1 = new PoolOwners(shared, 1);
  const w2 = new PoolOwners(shared, 2);
  w1.acquire("k"); // worker 1's own stream: never released, worker 1 dies with it
  const forwarded = w0.acquire("k");
  assert.equal(forwarded.owner, 1);
  assert.deepEqual(w0.peek("k"), { owner: 1, inFlight: 2 });

  markWorkerDead(shared, 1);
  const taken = w2.acquire("k");
  assert.equal(taken.owner, 2, "the owner died: worker 2 takes the key although it counts streams");
  assert.deepEqual(w0.peek("k"), { owner: 2, inFlight: 1 });
  w0.release(forwarded); // destroyed when worker 0 heard its peer was gone
  assert.deepEqual(w0.peek("k"), { owner: 2, inFlight: 1 }, "a claim on the dead owner releases nothing");
  const shared2 = w0.acquire("k");
  assert.equal(shared2.owner, 2, "busy on worker 2: worker 0 forwards to it");
  w0.release(shared2);
  w2.release(taken);
  assert.deepEqual(w0.peek("k"), { owner: 2, inFlight: 0 });
});
