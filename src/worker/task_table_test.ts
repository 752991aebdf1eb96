import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskTable } from "./task_table.ts";

test("tasks are listed with their state until finished; past the limit they are counted as dropped", () => {
  let clock = 100;
  const tasks = new TaskTable(3, 2, () => clock);
  const a = tasks.start("conn-a", "main", "GET", "/a");
  clock = 110;
  tasks.setState(a, "connecting_upstream");
  const b = tasks.start("conn-a", "main", "GET", "/b");
  const c = tasks.start("conn-b", "main", "GET", "/c");
  assert.equal(tasks.size, 2);
  assert.equal(tasks.dropped, 1);
  assert.equal(c.tracked, false);
  const listed = tasks.list(10);
  // Task ids are `<worker>.<sequence>`, not the connection's id.
  assert.deepEqual(listed.map((t) => [t.id, t.connectionId, t.state, t.path]), [["3.1", "conn-a", "connecting_upstream", "/a"], ["3.2", "conn-a", "reading_request", "/b"]]);
  tasks.finish(a);
  tasks.finish(b);
  assert.equal(tasks.size, 0);
});

test("a disabled table tracks nothing, drops nothing and reads no clock", () => {
  let reads = 0;
  const tasks = new TaskTable(0, 10, () => ++reads);
  tasks.enabled = false;
  const a = tasks.start("0.1", "main", "GET", "/");
  tasks.setState(a, "streaming");
  a.route = "r";
  tasks.finish(a);
  assert.equal(tasks.size, 0);
  assert.equal(tasks.dropped, 0);
  assert.deepEqual(tasks.list(10), []);
  assert.equal(reads, 0);
});
