import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { liveSource } from "./client/live.ts";
import { createRecorder, loadRecording, recordSource } from "./client/recording.ts";
import { replaySource } from "./client/replay.ts";
import { fixtures, KEY, later, startFakeAdmin, waitForFrame } from "./testing.ts";
import { App } from "./views/App.tsx";

const SIZE = { columns: 80, rows: 24 };

/** The frame without its first two lines (source name and connection state differ by design). */
function body(frame: string): string {
  return frame.split("\n").slice(2).join("\n");
}

test("a recorded session replays to the same frames, stepping forward and back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-replay-"));
  const path = join(dir, "session.jsonl");
  const [a, b] = fixtures();
  const c = later(b, 1, (s) => {
    s.stats["http.ingress_http.downstream_rq_total"] = (s.stats["http.ingress_http.downstream_rq_total"] ?? 0) + 900;
    s.workers[1]!.openConnections = 9;
  });
  const live: Record<number, string> = {};
  const admin = await startFakeAdmin({ first: a });
  try {
    const source = liveSource({ url: admin.url });
    const recorder = createRecorder(path);
    const stop = recordSource(source, recorder);
    const r = render(<App source={source} size={SIZE} />);
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      r.stdin.write("4"); // the stats view shows rates, which depend on the previous snapshot
      live[a.seq] = body(await waitForFrame(r, new RegExp(`seq ${a.seq}[^]*CHG▼`)));
      admin.push(b);
      live[b.seq] = body(await waitForFrame(r, `seq ${b.seq}`));
      admin.push(c);
      live[c.seq] = body(await waitForFrame(r, `seq ${c.seq}`));
    } finally {
      r.unmount();
      stop();
      await source.close();
      recorder.close();
    }
    assert.match(live[c.seq] ?? "", /http\.ingress_http\.downstream_rq_total\s+221870\s+900\s+2/);

    const frames = loadRecording(path);
    assert.deepEqual(frames.map((f) => f.snapshot.seq), [a.seq, b.seq, c.seq]);
    const replay = replaySource(frames, { file: path, startPaused: true });
    const p = render(<App source={replay} size={SIZE} />);
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      p.stdin.write("4");
      assert.equal(body(await waitForFrame(p, new RegExp(`seq ${a.seq}[^]*CHG▼`))), live[a.seq]);
      p.stdin.write(KEY.right);
      assert.equal(body(await waitForFrame(p, `seq ${b.seq}`)), live[b.seq]);
      p.stdin.write(KEY.right);
      const last = await waitForFrame(p, `seq ${c.seq}`);
      assert.equal(body(last), live[c.seq]);
      assert.match(last, /⏸ replay 3\/3 \(end\)/);
      p.stdin.write(KEY.left);
      assert.equal(body(await waitForFrame(p, `seq ${b.seq}`)), live[b.seq], "stepping back rebuilds rates and history");
    } finally {
      p.unmount();
      await replay.close();
    }
  } finally {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
