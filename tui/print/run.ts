/**
 * The non-interactive subcommands' runner: takes snapshots from the admin event stream (one, or
 * every flush with --watch), renders them, writes them out. No Ink here: it works with stdout
 * piped to a file or another program.
 *
 * @module
 */

import process from "node:process";
import type { Snapshot } from "../../src/admin/wire.ts";
import { fetchJson } from "../client/http.ts";
import { liveSource } from "../client/live.ts";
import { loadRecording, type RecordedFrame } from "../client/recording.ts";
import type { SnapshotSource } from "../client/source.ts";
import { advance, continues, EMPTY_DERIVED } from "../state/derive.ts";
import { parseFilterFlag } from "../state/select.ts";
import { DEFAULT_THRESHOLDS, type Derived, type Thresholds } from "../state/types.ts";
import { type PrintKind, renderConfig, renderSnapshot, watchHeading } from "./render.ts";

/** Options of {@link runPrint}. */
export interface PrintRunOptions {
  readonly kind: PrintKind | "config";
  readonly url: string;
  readonly token?: string | undefined;
  readonly json?: boolean;
  readonly watch?: boolean;
  readonly filter?: string | undefined;
  readonly thresholds?: Thresholds;
  /** Output sinks (default: process stdout / stderr). */
  readonly write?: (text: string) => void;
  readonly writeError?: (text: string) => void;
  /** Clear the screen between reprints (default: stdout is a terminal). */
  readonly clear?: boolean;
  /** Ends --watch (the command passes one that fires on SIGINT). */
  readonly signal?: AbortSignal;
  /** Give up waiting for the first snapshot after this long. */
  readonly timeoutMs?: number;
  /** A source to read instead of the admin URL (tests). */
  readonly source?: SnapshotSource;
  /**
   * Read a recording instead of an instance: print its last frame (rates from the one before), or
   * with --watch every frame in order, without the recorded pauses.
   */
  readonly replay?: string | undefined;
}

/** Runs a subcommand; resolves with the process exit code. */
export async function runPrint(options: PrintRunOptions): Promise<number> {
  // A reader that goes away (`| head`) ends the command quietly, like any Unix filter.
  let outputClosed: (() => void) | undefined;
  const isEpipe = (e: unknown) => (e as { code?: string } | null)?.code === "EPIPE";
  const onStdoutError = (e: unknown) => {
    if (isEpipe(e)) outputClosed?.();
  };
  const write = options.write ?? ((t: string) => {
    try {
      process.stdout.write(t);
    } catch (e) {
      if (!isEpipe(e)) throw e;
      outputClosed?.();
    }
  });
  if (!options.write) process.stdout.on("error", onStdoutError);
  const writeError = options.writeError ?? ((t: string) => void process.stderr.write(t));
  let match: (text: string) => boolean;
  try {
    match = parseFilterFlag(options.filter);
  } catch (e) {
    writeError(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const json = options.json ?? false;
  const watch = options.watch ?? false;
  const clear = options.clear ?? Boolean((process.stdout as { isTTY?: boolean }).isTTY);
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  if (options.replay !== undefined) {
    if (options.kind === "config") {
      writeError("weft inspect config: a recording holds snapshots, not the config dump; attach to an instance\n");
      return 2;
    }
    let frames: RecordedFrame[];
    try {
      frames = loadRecording(options.replay);
    } catch (e) {
      writeError(`${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    let derived: Derived = EMPTY_DERIVED;
    let prev: Snapshot | undefined;
    for (const [i, { snapshot }] of frames.entries()) {
      const rates = continues(prev, snapshot);
      derived = advance(derived, prev, snapshot, thresholds, 60);
      prev = snapshot;
      if (!watch && i < frames.length - 1) continue;
      write(renderSnapshot(options.kind, snapshot, derived, { json, match, compact: watch && json, rates }));
      if (watch && !json && i < frames.length - 1) write("\n");
    }
    return 0;
  }

  const source = options.source ?? liveSource({ url: options.url, token: options.token, reconnect: watch });

  let derived: Derived = EMPTY_DERIVED;
  let prev: Snapshot | undefined;
  let printed = 0;
  let lastConfig: string | undefined;

  const emit = async (snapshot: Snapshot): Promise<void> => {
    const rates = continues(prev, snapshot);
    derived = advance(derived, prev, snapshot, thresholds, 60);
    prev = snapshot;
    let body: string;
    if (options.kind === "config") {
      const config = await fetchJson(options.url, "/config_dump", options.token);
      body = renderConfig(config, { json, match, compact: watch && json });
      if (watch && body === lastConfig) return;
      lastConfig = body;
    } else {
      body = renderSnapshot(options.kind, snapshot, derived, { json, match, compact: watch && json, rates });
    }
    if (watch && !json) {
      write(clear ? `\u001b[H\u001b[2J${watchHeading(snapshot)}${body}` : `${printed > 0 ? "\n" : ""}${body}`);
    } else {
      write(body);
    }
    printed++;
  };

  return await new Promise<number>((resolve) => {
    let done = false;
    let chain = Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe();
      options.signal?.removeEventListener("abort", onAbort);
      if (!options.write) process.stdout.off("error", onStdoutError);
      void chain.then(() => source.close()).then(() => resolve(code));
    };
    const onAbort = () => finish(0);
    outputClosed = onAbort;
    const unsubscribe = source.subscribe((event) => {
      if (done) return;
      if (event.type === "snapshot") {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        chain = chain.then(() => emit(event.snapshot)).then(
          () => {
            if (!watch) finish(0);
          },
          (e) => {
            writeError(`${e instanceof Error ? e.message : String(e)}\n`);
            if (!watch) finish(1);
          },
        );
      } else if (event.type === "conn" && event.conn.kind === "reconnecting") {
        if (!watch) {
          writeError(`Cannot read snapshots from ${event.conn.url}/events: ${event.conn.error}\n`);
          finish(1);
        } else {
          writeError(
            `weft inspect: ${event.conn.error}; reconnecting in ${Math.ceil(event.conn.delayMs / 1000)} s\n`,
          );
        }
      } else if (event.type === "conn" && event.conn.kind === "replay" && !event.conn.playing && watch) {
        // A replayed recording ended.
        finish(0);
      }
    });
    if (options.signal?.aborted) finish(0);
    options.signal?.addEventListener("abort", onAbort);
    if (!watch && !done) {
      timer = setTimeout(() => {
        writeError(`Cannot read snapshots from ${options.url}/events: no snapshot within ${options.timeoutMs ?? 10_000} ms\n`);
        finish(1);
      }, options.timeoutMs ?? 10_000);
    }
  });
}
