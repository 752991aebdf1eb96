/**
 * Recordings: JSONL files with one `{"at": <epoch ms received>, "snapshot": <Snapshot>}` per line.
 * The recorder appends what a source delivers; {@link parseRecording} reads a file back for replay.
 *
 * @module
 */

import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import type { Snapshot } from "../../src/admin/wire.ts";
import type { SnapshotSource } from "./source.ts";

/** One line of a recording. */
export interface RecordedFrame {
  /** When the inspector received the snapshot (Unix epoch ms); replay keeps these gaps. */
  readonly at: number;
  readonly snapshot: Snapshot;
}

/** Serialises one frame as a JSONL line (with its newline). */
export function formatFrame(frame: RecordedFrame): string {
  return JSON.stringify({ at: frame.at, snapshot: frame.snapshot }) + "\n";
}

/**
 * Parses a recording's text. Blank lines are skipped; a bad line fails with its number.
 *
 * @example Parse two frames
 * ```ts
 * const frames = parseRecording('{"at":1,"snapshot":{…}}\n{"at":2,"snapshot":{…}}\n', "s.jsonl");
 * ```
 */
export function parseRecording(text: string, name = "recording"): RecordedFrame[] {
  const frames: RecordedFrame[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim();
    if (!line) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`Cannot parse ${name} line ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (
      typeof value !== "object" || value === null || typeof (value as { at?: unknown }).at !== "number" ||
      typeof (value as { snapshot?: unknown }).snapshot !== "object" || (value as { snapshot?: unknown }).snapshot === null
    ) {
      throw new Error(`Cannot parse ${name} line ${i + 1}: expected {"at": <number>, "snapshot": {…}}`);
    }
    frames.push(value as RecordedFrame);
  }
  return frames;
}

/** Reads and parses a recording file; fails when it holds no frame. */
export function loadRecording(path: string): RecordedFrame[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`Cannot read recording ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const frames = parseRecording(text, path);
  if (frames.length === 0) throw new Error(`Cannot replay ${path}: the recording holds no snapshot`);
  return frames;
}

/** Appends frames to a JSONL file, synchronously so lines are never interleaved or lost on quit. */
export interface Recorder {
  write(snapshot: Snapshot, at?: number): void;
  readonly count: number;
  close(): void;
}

/**
 * Opens (truncates) `path` for recording.
 *
 * @example Record everything a source delivers
 * ```ts
 * const recorder = createRecorder("session.jsonl");
 * const stop = recordSource(source, recorder);
 * ```
 */
export function createRecorder(path: string, now: () => number = Date.now): Recorder {
  let fd: number | undefined;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    throw new Error(`Cannot open recording ${path} for writing: ${e instanceof Error ? e.message : String(e)}`);
  }
  let count = 0;
  return {
    write(snapshot, at = now()) {
      if (fd === undefined) return;
      writeSync(fd, formatFrame({ at, snapshot }));
      count++;
    },
    get count() {
      return count;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Writes every snapshot `source` delivers to `recorder`; returns the unsubscribe function. */
export function recordSource(source: SnapshotSource, recorder: Recorder): () => void {
  let lastSeq: number | undefined;
  let lastAt: number | undefined;
  return source.subscribe((e) => {
    if (e.type !== "snapshot") return;
    // The hub hands a late subscriber the latest snapshot again; record each one once.
    if (e.snapshot.seq === lastSeq && e.snapshot.at === lastAt) return;
    lastSeq = e.snapshot.seq;
    lastAt = e.snapshot.at;
    recorder.write(e.snapshot);
  });
}
