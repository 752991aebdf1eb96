/**
 * Picks the runtime adapter. The only place weft asks which runtime it runs on.
 *
 * @example Use the adapter of the current runtime
 * ```ts
 * const rt = await currentRuntime();
 * const l = await rt.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: true }, () => handlers);
 * ```
 * @module
 */
import type { Runtime } from "./types.ts";
export type * from "./types.ts";

let cached: Promise<Runtime> | null = null;

/** Whether this process runs on Bun (else Deno). */
export function isBun(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}

/** The adapter for the runtime this code runs on, loaded once. */
export function currentRuntime(): Promise<Runtime> {
  cached ??= isBun()
    ? import("./bun.ts").then((m) => m.createBunRuntime())
    : import("./deno.ts").then((m) => m.createDenoRuntime());
  return cached;
}

/**
 * Where to start a worker from, given its path from the repository root
 * (e.g. `"src/edge/worker_main.ts"`). In a Bun-compiled binary modules live in an embedded file
 * system where only the entry-point path form resolves; elsewhere it is a file URL.
 */
export function workerEntry(path: string): string {
  const main = (globalThis as { Bun?: { main?: string } }).Bun?.main ?? "";
  if (main.startsWith("/$bunfs/")) return `./${path}`;
  return new URL(`../../${path}`, import.meta.url).href;
}

/**
 * Start a module worker. On Bun it runs in `smol` mode (a smaller heap, collected more often):
 * measured here it keeps a 2-worker proxy's peak RSS under load at ~95 MiB instead of ~112 MiB with
 * no loss of requests/s.
 */
export function newWorker(entry: string | URL, name: string): Worker {
  const options = { type: "module", name, ...(isBun() ? { smol: true } : {}) };
  return new Worker(entry, options as WorkerOptions);
}
