/**
 * Entry file of a proxy worker thread.
 *
 * @module
 */
import { currentRuntime } from "../runtime/mod.ts";
import { hostWorker } from "../worker/worker_host.ts";
import { EdgeWorker } from "./edge_worker.ts";

hostWorker(currentRuntime().then((runtime) => new EdgeWorker(runtime)));
