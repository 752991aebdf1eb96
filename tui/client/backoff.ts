/**
 * Reconnect delays: exponential, capped, reset after a connection delivered data.
 *
 * @module
 */

/** Exponential backoff parameters. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** 0.5 s doubling to 5 s, like tokio-console's reconnect loop. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 5000, factor: 2 };

/**
 * The delay before reconnect attempt number `attempt` (0 for the first retry).
 *
 * @example Delays of the default policy
 * ```ts
 * [0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a)); // [500, 1000, 2000, 4000, 5000, 5000]
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = options.initialMs * Math.pow(options.factor, Math.max(0, attempt));
  return Math.min(options.maxMs, Number.isFinite(exp) ? exp : options.maxMs);
}
