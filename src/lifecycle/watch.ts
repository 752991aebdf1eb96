/**
 * `--watch-config`: calls back when a file's content may have changed. Polls size and mtime
 * (twice a second) rather than using inotify, because editors and config managers replace files by
 * rename, which silently ends an inotify watch on the old inode.
 *
 * @example
 * ```ts
 * const stop = watchFile("envoy.yaml", () => reload("file changed"));
 * ```
 * @module
 */
import { stat } from "node:fs/promises";

export function watchFile(path: string, onChange: () => void, intervalMs = 500): () => void {
  let last: string | null = null;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const s = await stat(path);
      const sig = `${s.size}:${s.mtimeMs}:${s.ino}`;
      if (last !== null && sig !== last) onChange();
      last = sig;
    } catch {
      // Mid-replace or deleted: keep the last signature and look again.
    } finally {
      busy = false;
    }
  }, intervalMs);
  return () => clearInterval(timer);
}
