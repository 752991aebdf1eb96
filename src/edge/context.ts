/**
 * What every piece of a proxy worker shares: the runtime adapter, the worker's dispatcher, and the
 * drain state. One per worker thread.
 *
 * @module
 */
import type { Runtime } from "../runtime/types.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { DrainOptions } from "../worker/messages.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
import type { Deadlines } from "./deadlines.ts";

export interface WorkerContext {
  runtime: Runtime;
  dispatcher: Dispatcher;
  workerId: number;
  /** Set while draining: responses may carry `connection: close` (see {@linkcode closeAfterThisResponse}). */
  draining: boolean;
  drain: (DrainOptions & { startedAt: number }) | null;
  limits: ConnectionLimits;
  deadlines: Deadlines;
}

/**
 * Whether the response being written should end its connection because the worker drains:
 * always for the immediate strategy, and for the gradual one with a probability that grows from 0
 * to 1 over the drain time (Envoy's gradual drain), so clients move over progressively.
 */
export function closeAfterThisResponse(ctx: WorkerContext): boolean {
  const d = ctx.drain;
  if (d === null) return false;
  if (d.strategy === "immediate" || d.drainTimeMs <= 0) return true;
  return Math.random() < (performance.now() - d.startedAt) / d.drainTimeMs;
}
