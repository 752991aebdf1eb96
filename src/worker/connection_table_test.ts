import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionTable } from "./connection_table.ts";

test("deltas carry opened and changed rows once, and closes of announced rows", () => {
  const t = new ConnectionTable(2);
  const a = t.open("127.0.0.1", 1000, "l", "http");
  const b = t.open("127.0.0.1", 1001, "l", "http");
  let d = t.takeDelta();
  assert.deepEqual(d.changed.map((c) => c.id), ["2.1", "2.2"]);
  assert.deepEqual(t.takeDelta(), { changed: [], closed: [] });
  a.requests++;
  t.touch(a);
  t.touch(a);
  d = t.takeDelta();
  assert.deepEqual(d.changed.map((c) => [c.id, c.requests]), [["2.1", 1]]);
  t.close(b);
  // Opened and closed inside one flush: main never hears of it.
  const c = t.open("127.0.0.1", 1002, "l", "http");
  t.close(c);
  d = t.takeDelta();
  assert.deepEqual(d, { changed: [], closed: ["2.2"] });
  assert.equal(t.size, 1);
  assert.equal(t.total, 3);
});
