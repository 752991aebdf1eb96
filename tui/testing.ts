/**
 * Helpers for the inspector's tests (not a test file itself): fixtures, a fake admin server on
 * 127.0.0.1 that speaks the `/events` contract, and waiting for conditions instead of sleeping.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Snapshot } from "../src/admin/wire.ts";
import { createHub, type SnapshotSource, type SourceCommand, type SourceEvent } from "./client/source.ts";
import { initialState, reducer } from "./state/reducer.ts";
import type { Action, State } from "./state/types.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** A fixture snapshot by file name, e.g. "snapshot-1.json" (a fresh copy each call). */
export function fixture(name: string): Snapshot {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as Snapshot;
}

/** The path of a fixture file. */
export function fixturePath(name: string): string {
  return decodeURIComponent(new URL(name, FIXTURES).pathname);
}

/** The two fixture snapshots: 4 workers, 20 connections spread 11/4/3/2, one second apart. */
export function fixtures(): [Snapshot, Snapshot] {
  return [fixture("snapshot-1.json"), fixture("snapshot-2.json")];
}

/** A copy of `s` moved `n` flushes on (seq, at, uptime), with `patch` applied. */
export function later(s: Snapshot, n: number, patch: (s: Snapshot) => void = () => {}): Snapshot {
  const next = structuredClone(s);
  next.seq += n;
  next.at += n * next.server.flushIntervalMs;
  next.server.uptimeS += Math.round((n * next.server.flushIntervalMs) / 1000);
  patch(next);
  return next;
}

/** Removes ANSI escape sequences. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").replace(/\u001b\][^\u0007]*\u0007/g, "");
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false,
  what: string | (() => string),
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A fake admin endpoint: `/events` (server-sent events), `/config_dump`. */
export interface FakeAdmin {
  readonly url: string;
  readonly port: number;
  /** Sends a snapshot to every subscriber and makes it the one new subscribers get first. */
  push(snapshot: Snapshot): void;
  /** Sends raw text to every subscriber (comments, malformed events). */
  pushRaw(text: string): void;
  /** Current `/events` subscribers. */
  subscribers(): number;
  /** Authorization headers seen, in order. */
  readonly authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** Options of {@link startFakeAdmin}. */
export interface FakeAdminOptions {
  readonly first?: Snapshot;
  readonly token?: string;
  readonly port?: number;
  readonly configDump?: unknown;
}

/** Starts a fake admin server on 127.0.0.1 (port 0 unless given). */
export async function startFakeAdmin(options: FakeAdminOptions = {}): Promise<FakeAdmin> {
  let latest = options.first;
  const streams = new Set<ServerResponse>();
  const authorizations: (string | undefined)[] = [];
  const frame = (s: Snapshot) => `event: snapshot\ndata: ${JSON.stringify(s)}\n\n`;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    authorizations.push(req.headers.authorization);
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end("unauthorized\n");
      return;
    }
    if (path === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      streams.add(res);
      res.on("close", () => streams.delete(res));
      if (latest) res.write(frame(latest));
      return;
    }
    if (path === "/config_dump") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(options.configDump ?? {}));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    authorizations,
    push(snapshot) {
      latest = snapshot;
      for (const res of streams) res.write(frame(snapshot));
    },
    pushRaw(text) {
      for (const res of streams) res.write(text);
    },
    subscribers: () => streams.size,
    async close() {
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A source the test drives by hand; records the commands it was sent. */
export interface ManualSource extends SnapshotSource {
  emit(event: SourceEvent): void;
  readonly commands: SourceCommand[];
}

/** Creates a {@link ManualSource}. */
export function manualSource(kind: "live" | "replay" = "live", description = "http://127.0.0.1:9901"): ManualSource {
  const hub = createHub(() => {});
  const commands: SourceCommand[] = [];
  return {
    kind,
    description,
    commands,
    emit: hub.emit,
    subscribe: hub.subscribe,
    control: (c) => void commands.push(c),
    close: () => Promise.resolve(),
  };
}

/** Key sequences as a terminal sends them. */
export const KEY = {
  up: "\u001b[A",
  down: "\u001b[B",
  right: "\u001b[C",
  left: "\u001b[D",
  enter: "\r",
  escape: "\u001b",
  tab: "\t",
  backspace: "\u007f",
} as const;

/** A state fed with `snapshots` (default: both fixtures), then `actions`. */
export function stateFrom(
  snapshots: readonly Snapshot[] = fixtures(),
  options: Parameters<typeof initialState>[0] = {},
  ...actions: Action[]
): State {
  let s = initialState(options);
  for (const snapshot of snapshots) s = reducer(s, { type: "snapshot", snapshot });
  return actions.reduce(reducer, s);
}

/** The last frame an ink-testing-library instance drew, without colours. */
export function frameOf(r: { lastFrame(): string | undefined }): string {
  return stripAnsi(r.lastFrame() ?? "");
}

/** Waits until the last frame contains `text` (or matches it), returning the frame. */
export function waitForFrame(
  r: { lastFrame(): string | undefined },
  text: string | RegExp,
  timeoutMs = 3000,
): Promise<string> {
  return waitFor(() => {
    const f = frameOf(r);
    return (typeof text === "string" ? f.includes(text) : text.test(f)) ? f : undefined;
  }, () => `a frame with ${String(text)}; last frame:\n${frameOf(r)}`, timeoutMs);
}
