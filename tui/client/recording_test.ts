import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtures, manualSource } from "../testing.ts";
import { createRecorder, loadRecording, parseRecording, recordSource } from "./recording.ts";

test("a recorder writes one {at, snapshot} line per snapshot, once each", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-rec-"));
  try {
    const path = join(dir, "session.jsonl");
    const [a, b] = fixtures();
    const source = manualSource();
    source.emit({ type: "snapshot", snapshot: a });
    let now = 1000;
    const recorder = createRecorder(path, () => now++);
    const stop = recordSource(source, recorder); // handed `a` on subscribe
    source.emit({ type: "conn", conn: { kind: "connected", url: "x", since: 0 } });
    source.emit({ type: "snapshot", snapshot: b });
    source.emit({ type: "snapshot", snapshot: b }); // the same snapshot again is not recorded twice
    stop();
    recorder.close();
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.deepEqual(Object.keys(JSON.parse(lines[0] ?? "{}")), ["at", "snapshot"]);
    const frames = loadRecording(path);
    assert.deepEqual(frames.map((f) => [f.at, f.snapshot.seq]), [[1000, a.seq], [1001, b.seq]]);
    assert.deepEqual(frames[1]?.snapshot, b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("parse errors name the line", () => {
  assert.throws(() => parseRecording('{"at":1,"snapshot":{}}\n\nnot json\n', "s.jsonl"), /Cannot parse s\.jsonl line 3/);
  assert.throws(() => parseRecording('{"snapshot":{}}\n', "s.jsonl"), /line 1: expected/);
  assert.deepEqual(parseRecording("\n\n"), []);
  assert.throws(() => loadRecording("/nonexistent/weft.jsonl"), /Cannot read recording/);
});
