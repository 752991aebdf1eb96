import { test } from "node:test";
import assert from "node:assert/strict";
import { BINDINGS, keyIntent, splitKeys } from "./keys.ts";

const live = { editingFilter: false, replay: false };
const replay = { editingFilter: false, replay: true };
const editing = { editingFilter: true, replay: false };
const action = (input: string, key = {}, ctx = live) => {
  const i = keyIntent(input, key, ctx);
  return i?.kind === "action" ? i.action : i;
};

test("views: 1–5 and tab / shift+tab", () => {
  assert.deepEqual(["1", "2", "3", "4", "5"].map((k) => action(k)), [
    { type: "view", view: "workers" },
    { type: "view", view: "connections" },
    { type: "view", view: "tasks" },
    { type: "view", view: "stats" },
    { type: "view", view: "clusters" },
  ]);
  assert.deepEqual(action("", { tab: true }), { type: "cycle-view", delta: 1 });
  assert.deepEqual(action("", { tab: true, shift: true }), { type: "cycle-view", delta: -1 });
});

test("movement, sorting, details and the rest", () => {
  assert.deepEqual(action("", { upArrow: true }), { type: "move", delta: -1 });
  assert.deepEqual(action("k"), { type: "move", delta: -1 });
  assert.deepEqual(action("j"), { type: "move", delta: 1 });
  assert.deepEqual(action("", { pageDown: true }), { type: "page", delta: 1 });
  assert.deepEqual(action("g"), { type: "home" });
  assert.deepEqual(action("G", { shift: true }), { type: "end" });
  assert.deepEqual(action("", { leftArrow: true }), { type: "sort", delta: -1 });
  assert.deepEqual(action("l"), { type: "sort", delta: 1 });
  assert.deepEqual(action("i"), { type: "invert" });
  assert.deepEqual(action("", { return: true }), { type: "enter" });
  assert.deepEqual(action("", { escape: true }), { type: "back" });
  assert.deepEqual(action("/"), { type: "filter-start" });
  assert.deepEqual(action(" "), { type: "toggle-pause" });
  assert.deepEqual(action("?"), { type: "toggle-help" });
  assert.deepEqual(action("p"), { type: "switch-pane" });
  assert.deepEqual(keyIntent("q", {}, live), { kind: "quit" });
  assert.equal(keyIntent("z", {}, live), undefined);
  assert.equal(keyIntent("q", { ctrl: true }, live), undefined);
});

test("replay: space plays / pauses and ←/→ step the recording; h/l still sort", () => {
  assert.deepEqual(keyIntent(" ", {}, replay), { kind: "source", command: "toggle-pause" });
  assert.deepEqual(keyIntent("", { rightArrow: true }, replay), { kind: "source", command: "step-forward" });
  assert.deepEqual(keyIntent("", { leftArrow: true }, replay), { kind: "source", command: "step-back" });
  assert.deepEqual(action("h", {}, replay), { type: "sort", delta: -1 });
});

test("while typing a filter, printable keys are text and q does not quit", () => {
  assert.deepEqual(action("q", {}, editing), { type: "filter-input", text: "q" });
  assert.deepEqual(action("1", {}, editing), { type: "filter-input", text: "1" });
  assert.deepEqual(action("", { backspace: true }, editing), { type: "filter-backspace" });
  assert.deepEqual(action("", { return: true }, editing), { type: "filter-commit" });
  assert.deepEqual(action("", { escape: true }, editing), { type: "filter-cancel" });
  assert.deepEqual(action("", { downArrow: true }, editing), { type: "move", delta: 1 });
  assert.equal(keyIntent("", { leftArrow: true }, editing), undefined);
});

test("keys that arrive together are split into single presses", () => {
  assert.deepEqual(splitKeys("jj\r", {}), [["j", {}], ["j", {}], ["", { return: true }]]);
  assert.deepEqual(splitKeys("2G\t\u001b", {}), [["2", {}], ["G", { shift: true }], ["", { tab: true }], ["", { escape: true }]]);
  assert.deepEqual(splitKeys("j", { ctrl: false }), [["j", { ctrl: false }]]);
});

test("the help lists every binding once", () => {
  const keys = BINDINGS.map((b) => b.keys);
  assert.equal(new Set(keys).size, keys.length);
  for (const k of ["1 2 3 4 5", "enter", "esc", "/", "space", "?", "i"]) assert.ok(keys.some((x) => x.startsWith(k)), k);
});
