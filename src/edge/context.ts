/**
 * What every piece of a proxy worker shares: the runtime adapter and the worker's dispatcher.
 * One per worker thread.
 *
 * @module
 */
import type { Runtime } from "../runtime/types.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";

export interface WorkerContext {
  runtime: Runtime;
  dispatcher: Dispatcher;
  workerId: number;
  /** Set while draining: responses carry `connection: close` and idle connections close. */
  draining: boolean;
}
