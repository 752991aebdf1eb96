/**
 * The interactive inspector's entry: builds the source (live admin stream or a replayed recording),
 * the optional recorder, and renders {@link App} full screen until `q`.
 *
 * @module
 */

import { render } from "ink";
import process from "node:process";
import { liveSource } from "./client/live.ts";
import { createRecorder, loadRecording, type Recorder, recordSource } from "./client/recording.ts";
import { replaySource } from "./client/replay.ts";
import type { SnapshotSource } from "./client/source.ts";
import type { Thresholds } from "./state/types.ts";
import { App } from "./views/App.tsx";

/** Options of {@link runInspector}. */
export interface InspectorOptions {
  /** Normalised admin URL. */
  readonly url: string;
  readonly token?: string | undefined;
  /** Write every snapshot received to this JSONL file. */
  readonly record?: string | undefined;
  /** Play this JSONL recording instead of attaching to an instance. */
  readonly replay?: string | undefined;
  readonly speed?: number | undefined;
  readonly thresholds: Thresholds;
  readonly historyLimit?: number | undefined;
}

/** Runs the full-screen inspector; resolves with the exit code once the user quits. */
export async function runInspector(options: InspectorOptions): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      "weft inspect: the interactive inspector needs a terminal; in scripts use " +
        "`weft inspect workers|connections|tasks|stats|clusters|config [--json]`\n",
    );
    return 2;
  }
  let source: SnapshotSource;
  let recorder: Recorder | undefined;
  try {
    source = options.replay
      ? replaySource(loadRecording(options.replay), { file: options.replay, speed: options.speed })
      : liveSource({ url: options.url, token: options.token });
    if (options.record) recorder = createRecorder(options.record);
  } catch (e) {
    process.stderr.write(`weft inspect: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const stopRecording = recorder ? recordSource(source, recorder) : undefined;
  const instance = render(
    <App source={source} thresholds={options.thresholds} historyLimit={options.historyLimit} />,
    // interactive: a terminal was checked above; Ink would otherwise go non-interactive when CI is set.
    { alternateScreen: true, exitOnCtrlC: true, patchConsole: true, maxFps: 20, interactive: true },
  );
  try {
    await instance.waitUntilExit();
  } finally {
    stopRecording?.();
    await source.close();
    recorder?.close();
  }
  if (recorder && options.record) {
    process.stderr.write(`weft inspect: recorded ${recorder.count} snapshots to ${options.record}\n`);
  }
  return 0;
}
