import { test } from "node:test";
import assert from "node:assert/strict";
import { SlotSet } from "./slot_set.ts";

const member = (name: string) => ({ slot: -1, name });

test("SlotSet adds once, deletes any member and keeps the others' slots right", () => {
  const set = new SlotSet<ReturnType<typeof member>>();
  const [a, b, c, d] = ["a", "b", "c", "d"].map(member) as [ReturnType<typeof member>, ReturnType<typeof member>, ReturnType<typeof member>, ReturnType<typeof member>];
  set.add(a);
  set.add(b);
  set.add(c);
  set.add(a);
  assert.equal(set.size, 3);
  assert.equal(set.delete(a), true, "the first member: the last one moves into its slot");
  assert.equal(set.delete(a), false, "no longer a member");
  assert.equal(a.slot, -1);
  assert.deepEqual(set.items.map((x) => x.name).sort(), ["b", "c"]);
  for (const [i, x] of set.items.entries()) assert.equal(x.slot, i);
  assert.equal(set.has(d), false);
  assert.equal(set.delete(d), false, "never added");
  set.add(d);
  assert.equal(set.delete(c), true);
  assert.equal(set.delete(d), true);
  assert.equal(set.delete(b), true);
  assert.equal(set.size, 0);
});

test("SlotSet.has is false for an object whose slot points at another member", () => {
  const set = new SlotSet<ReturnType<typeof member>>();
  const a = member("a");
  const stranger = member("x");
  set.add(a);
  stranger.slot = 0;
  assert.equal(set.has(stranger), false);
  assert.equal(set.delete(stranger), false);
  assert.equal(set.items[0], a);
});
