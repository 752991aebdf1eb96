/**
 * The replay source: plays a recording back with its original pacing, behind the same interface as
 * the live source. Space pauses, ←/→ step (and pause), like a video player.
 *
 * @module
 */

import type { RecordedFrame } from "./recording.ts";
import { createHub, type SnapshotSource, type SourceCommand } from "./source.ts";

/** Options of {@link replaySource}. */
export interface ReplayOptions {
  /** Shown in the header. */
  readonly file: string;
  /** Playback speed factor (2 = twice as fast). */
  readonly speed?: number;
  /** Gaps in the recording longer than this are shortened to it (e.g. a laptop that slept). */
  readonly maxGapMs?: number;
  readonly startPaused?: boolean;
  /** How many earlier frames to replay when stepping back, so histories and rates match live. */
  readonly rewindFrames?: number;
}

/**
 * Plays `frames` back. The first frame is delivered at once; at the end the source stays on the last
 * frame, paused.
 *
 * @example Replay a recording at double speed
 * ```ts
 * const source = replaySource(loadRecording("session.jsonl"), { file: "session.jsonl", speed: 2 });
 * ```
 */
export function replaySource(frames: readonly RecordedFrame[], options: ReplayOptions): SnapshotSource {
  if (frames.length === 0) throw new Error(`Cannot replay ${options.file}: the recording holds no snapshot`);
  const speed = options.speed && options.speed > 0 ? options.speed : 1;
  const maxGapMs = options.maxGapMs ?? 5000;
  const rewindFrames = options.rewindFrames ?? 60;
  let index = 0;
  let playing = !options.startPaused;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const hub = createHub(() => {
    show(0);
    schedule();
  });

  function conn(): void {
    hub.emit({
      type: "conn",
      conn: { kind: "replay", file: options.file, index, total: frames.length, playing },
    });
  }

  function show(i: number): void {
    index = i;
    const frame = frames[i];
    if (frame) hub.emit({ type: "snapshot", snapshot: frame.snapshot });
    conn();
  }

  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (closed || !playing) return;
    const current = frames[index];
    const next = frames[index + 1];
    if (!current || !next) {
      playing = false;
      conn();
      return;
    }
    const gap = Math.min(maxGapMs, Math.max(0, next.at - current.at)) / speed;
    timer = setTimeout(() => {
      timer = undefined;
      show(index + 1);
      schedule();
    }, gap);
  }

  return {
    kind: "replay",
    description: options.file,
    subscribe: hub.subscribe,
    control(command: SourceCommand) {
      if (closed) return;
      switch (command) {
        case "toggle-pause":
          if (!playing && index >= frames.length - 1) {
            // At the end, play restarts from the beginning.
            hub.emit({ type: "rewind", snapshots: [] });
            playing = true;
            show(0);
          } else {
            playing = !playing;
            conn();
          }
          schedule();
          return;
        case "step-forward":
          playing = false;
          schedule();
          if (index < frames.length - 1) show(index + 1);
          else conn();
          return;
        case "step-back": {
          playing = false;
          schedule();
          if (index === 0) {
            conn();
            return;
          }
          index--;
          const from = Math.max(0, index - rewindFrames + 1);
          hub.emit({ type: "rewind", snapshots: frames.slice(from, index + 1).map((f) => f.snapshot) });
          conn();
          return;
        }
      }
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      return Promise.resolve();
    },
  };
}
