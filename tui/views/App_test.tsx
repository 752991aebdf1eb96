import { test } from "node:test";
import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { fixtures, frameOf, KEY, later, manualSource, waitFor, waitForFrame } from "../testing.ts";
import { App } from "./App.tsx";

const SIZE = { columns: 80, rows: 24 };

async function start(kind: "live" | "replay" = "live", size = SIZE) {
  const source = manualSource(kind);
  let quit = 0;
  const r = render(<App source={source} size={size} onQuit={() => quit++} />);
  // Let Ink attach its input listener before the test types.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const [a, b] = fixtures();
  return {
    source,
    r,
    a,
    b,
    quits: () => quit,
    press: (...keys: string[]) => {
      for (const k of keys) r.stdin.write(k);
    },
    feed: () => {
      source.emit({ type: "conn", conn: { kind: "connected", url: "http://127.0.0.1:9901", since: 0 } });
      source.emit({ type: "snapshot", snapshot: a });
      source.emit({ type: "snapshot", snapshot: b });
    },
  };
}

test("draws the header, the workers and the warnings in exactly 80×24", async () => {
  const t = await start();
  try {
    assert.match(frameOf(t.r), /waiting for the first snapshot/);
    t.feed();
    const f = await waitForFrame(t.r, "seq 42");
    const lines = f.split("\n");
    assert.equal(lines.length, 24);
    assert.ok(lines.every((l) => l.length <= 80), "no line wider than the terminal");
    assert.match(lines[0] ?? "", /weft proxy 0\.1\.0 · LIVE · up 1h02m · 4 workers · http:\/\/127\.0\.0\.1:9901/);
    assert.match(lines[1] ?? "", /● connected\s+seq 42\s+dropped 0\s+⚠ 4 warnings/);
    assert.match(lines[2] ?? "", /1 Workers\s+2 Connections\s+3 Tasks\s+4 Stats\s+5 Clusters/);
    assert.match(f, /›\s+0 running/);
    assert.match(f, /\s+3 blocked/);
    assert.match(lines[19] ?? "", /⚠ Warnings \(4\)/);
    assert.match(f, /✖ worker 3 is blocked/);
    assert.match(lines[23] ?? "", /\? help\s+q quit/);
  } finally {
    t.r.unmount();
  }
});

test("1–5 and tab switch views; the connections view shows the imbalance", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.press("2");
    await waitForFrame(t.r, "imbalance 2.20× (max 11 on worker 0, mean 5.0, 20 open)");
    t.press("3");
    await waitForFrame(t.r, "Tasks in flight");
    t.press("4");
    await waitForFrame(t.r, /NAME\s+VALUE\s+RATE\/s\s+CHG▼/);
    t.press("5");
    await waitForFrame(t.r, /CLUSTER▲\s+HEALTHY/);
    t.press(KEY.tab);
    await waitForFrame(t.r, /ID▲ STATUS/);
  } finally {
    t.r.unmount();
  }
});

test("enter opens a worker, esc comes back to the same row and sort", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.press("l", "l", "l", "i"); // sort by P99, descending
    await waitForFrame(t.r, "P99▼");
    // The selection followed worker 0 to the bottom; go to the top, then one down: worker 3 (3.0ms).
    t.press("g", "j", KEY.enter);
    const detail = await waitForFrame(t.r, "› worker 3");
    assert.match(detail, /worker 3 · blocked/);
    assert.match(detail, /▸ Connections \[2\]/);
    t.press("p");
    await waitForFrame(t.r, "▸ Tasks [1]");
    t.press(KEY.escape);
    const back = await waitForFrame(t.r, "P99▼");
    assert.match(back, /›\s+3 blocked/, "the selection is where it was");
    assert.doesNotMatch(back, /› worker/);
  } finally {
    t.r.unmount();
  }
});

test("keys typed together (tmux send-keys) are all handled", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.press("jj\r");
    await waitForFrame(t.r, "› worker 2");
  } finally {
    t.r.unmount();
  }
});

test("/ filters live, enter keeps the filter, esc clears it", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.press("4", "/", "5", "x", "x");
    const typing = await waitForFrame(t.r, /^\/5xx/m);
    assert.match(typing, /enter keep · esc cancel/);
    assert.match(typing, /cluster\.api\.upstream_rq_5xx/);
    assert.doesNotMatch(typing, /upstream_rq_total/);
    t.press(KEY.enter);
    await waitForFrame(t.r, "filter /5xx/ 3 of 38");
    t.press(KEY.escape);
    const cleared = await waitForFrame(t.r, "upstream_rq_total");
    assert.doesNotMatch(cleared, /filter \//);
  } finally {
    t.r.unmount();
  }
});

test("space pauses a live stream; resuming shows what arrived meanwhile", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.press(" ");
    await waitForFrame(t.r, "PAUSED");
    t.source.emit({ type: "snapshot", snapshot: later(t.b, 1) });
    const held = await waitForFrame(t.r, "PAUSED (+1)");
    assert.match(held, /seq 42/);
    t.press(" ");
    const resumed = await waitForFrame(t.r, "seq 43");
    assert.doesNotMatch(resumed, /PAUSED/);
  } finally {
    t.r.unmount();
  }
});

test("? shows the help; esc closes it", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.press("?");
    await waitForFrame(t.r, "Keys (? or esc closes)");
    t.press(KEY.escape);
    await waitForFrame(t.r, /ID▲ STATUS/);
  } finally {
    t.r.unmount();
  }
});

test("the header counts down to the next reconnect attempt", async () => {
  const t = await start();
  try {
    t.feed();
    await waitForFrame(t.r, "seq 42");
    t.source.emit({
      type: "conn",
      conn: { kind: "reconnecting", url: "u", attempt: 3, delayMs: 2000, retryAt: Date.now() + 2000, error: "connection refused" },
    });
    await waitForFrame(t.r, "reconnecting in 2 s (connection refused)");
    await waitForFrame(t.r, "reconnecting in 1 s", 2500);
    assert.match(frameOf(t.r), /seq 42/, "the last snapshot stays on screen");
  } finally {
    t.r.unmount();
  }
});

test("replay: space and ←/→ go to the source", async () => {
  const t = await start("replay");
  try {
    t.source.emit({ type: "conn", conn: { kind: "replay", file: "s.jsonl", index: 0, total: 2, playing: true } });
    t.source.emit({ type: "snapshot", snapshot: t.a });
    await waitForFrame(t.r, "▶ replay 1/2");
    t.press(" ", KEY.right, KEY.left, "l");
    await waitFor(() => t.source.commands.length === 3, "three source commands");
    assert.deepEqual(t.source.commands, ["toggle-pause", "step-forward", "step-back"]);
    await waitForFrame(t.r, "STATUS▲", 2000);
  } finally {
    t.r.unmount();
  }
});

test("more room shows more columns and more warnings", async () => {
  const t = await start("live", { columns: 140, rows: 40 });
  try {
    t.feed();
    const f = await waitForFrame(t.r, "seq 42");
    assert.equal(f.split("\n").length, 40);
    assert.match(f, /MAX .* GEN\s+DROP\s+RQ TOT/);
    assert.match(f, /connection imbalance 2\.20× > 2×/);
    assert.doesNotMatch(f, /… \d+ more/);
  } finally {
    t.r.unmount();
  }
});

test("q quits", async () => {
  const t = await start();
  t.feed();
  await waitForFrame(t.r, "seq 42");
  t.press("q");
  await waitFor(() => t.quits() === 1, "onQuit");
  t.r.unmount();
});
