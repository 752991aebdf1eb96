import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtures, later, waitFor } from "../testing.ts";
import type { RecordedFrame } from "./recording.ts";
import { replaySource } from "./replay.ts";
import type { SourceEvent } from "./source.ts";

function frames(n: number): RecordedFrame[] {
  const [a] = fixtures();
  return Array.from({ length: n }, (_, i) => ({ at: 1000 + i * 1000, snapshot: later(a, i) }));
}

function seqs(events: SourceEvent[]): number[] {
  return events.flatMap((e) => (e.type === "snapshot" ? [e.snapshot.seq] : []));
}

test("plays every frame in order with the recorded pacing, then stops at the end", async () => {
  const f = frames(4);
  const source = replaySource(f, { file: "s.jsonl", speed: 100 });
  const events: SourceEvent[] = [];
  source.subscribe((e) => events.push(e));
  await waitFor(() => events.some((e) => e.type === "conn" && e.conn.kind === "replay" && !e.conn.playing), "the end");
  assert.deepEqual(seqs(events), f.map((x) => x.snapshot.seq));
  const last = events.at(-1);
  assert.deepEqual(last?.type === "conn" ? last.conn : undefined, { kind: "replay", file: "s.jsonl", index: 3, total: 4, playing: false });
  await source.close();
});

test("paused: steps forward, steps back with a rewind, and space resumes", async () => {
  const f = frames(5);
  const source = replaySource(f, { file: "s.jsonl", startPaused: true, rewindFrames: 2, speed: 100 });
  const events: SourceEvent[] = [];
  source.subscribe((e) => events.push(e));
  assert.deepEqual(seqs(events), [f[0]?.snapshot.seq]);
  source.control("step-forward");
  source.control("step-forward");
  assert.deepEqual(seqs(events), f.slice(0, 3).map((x) => x.snapshot.seq));
  events.length = 0;
  source.control("step-back");
  const rewind = events.find((e) => e.type === "rewind");
  assert.deepEqual(
    rewind?.type === "rewind" ? rewind.snapshots.map((s) => s.seq) : [],
    [f[0]?.snapshot.seq, f[1]?.snapshot.seq],
    "the last `rewindFrames` frames up to the new position",
  );
  source.control("step-back");
  source.control("step-back"); // at the start: stays
  const conn = events.filter((e) => e.type === "conn").at(-1);
  assert.equal(conn?.type === "conn" && conn.conn.kind === "replay" ? conn.conn.index : -1, 0);
  events.length = 0;
  source.control("toggle-pause");
  await waitFor(() => seqs(events).length === 4, "playback to the end", 10_000);
  assert.deepEqual(seqs(events), f.slice(1).map((x) => x.snapshot.seq));
  await source.close();
});
