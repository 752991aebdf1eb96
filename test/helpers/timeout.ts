/**
 * Bounds a wait in a test: resolves with `p`, or rejects after `ms`, naming `what` was awaited.
 *
 * @example
 * ```ts
 * await withTimeout(closed, 5000, "the server socket's close");
 * ```
 *
 * @module
 */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
