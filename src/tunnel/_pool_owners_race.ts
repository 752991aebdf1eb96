/**
 * Test helper for pool_owners_test.ts, run as a worker thread: acquires and releases one key as
 * fast as it can and counts the times the slot's owner changed while it held a claim.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { PoolOwners } from "./pool_owners.ts";

const { shared, self, rounds, start } = workerData as {
  shared: SharedArrayBuffer;
  self: number;
  rounds: number;
  /** [go, ready]: each thread counts itself ready, then waits for go. */
  start: SharedArrayBuffer;
};
const owners = new PoolOwners(shared, self);
const gate = new Int32Array(start);
Atomics.add(gate, 1, 1);
Atomics.wait(gate, 0, 0); // all threads start together
let disagreements = 0;
for (let i = 0; i < rounds; i++) {
  const claim = owners.acquire("race-key");
  for (let k = 0; k < 20; k++) if (owners.peek("race-key").owner !== claim.owner) disagreements++;
  owners.release(claim);
}
parentPort!.postMessage({ disagreements });
