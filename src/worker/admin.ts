/**
 * weft's own admin paths for the inspector: `/workers`, `/connections[?worker=N]`, `/tasks` and the
 * `/events` stream (server-sent events, one snapshot per flush). Shapes are in `admin/wire.ts`.
 *
 * @module
 */
import { type AdminRegistry, json, text } from "../admin/registry.ts";
import type { EventHub } from "../admin/event_stream.ts";
import type { ConnectionsResponse, Snapshot, TasksResponse, WorkersResponse } from "../admin/wire.ts";
import type { WorkerPool } from "./pool.ts";

export function registerWorkerAdmin(
  admin: AdminRegistry,
  pool: WorkerPool,
  hub: EventHub<Snapshot>,
  snapshot: (dropped: number) => Snapshot,
  /** Bring figures up to now (workers flush on demand) before answering. */
  fresh: () => Promise<void>,
): void {
  admin.add({
    path: "/workers",
    help: "per worker: event-loop lag and busy time, queues, in-flight tasks, connections, requests/s (JSON)",
    handle: async () => {
      await fresh();
      return json({ concurrency: pool.size, workers: pool.workers() } satisfies WorkersResponse);
    },
  });
  admin.add({
    path: "/connections",
    help: "open downstream connections and the worker that owns each (?worker=N) (JSON)",
    async handle(_req, url) {
      const w = url.searchParams.get("worker");
      let worker: number | undefined;
      if (w !== null) {
        worker = Number(w);
        if (!Number.isInteger(worker) || worker < 0 || worker >= pool.size) {
          return text(400, `worker must be an integer from 0 to ${pool.size - 1}, got "${w}"\n`);
        }
      }
      await fresh();
      const connections = pool.connections(worker);
      return json({ total: connections.length, connections } satisfies ConnectionsResponse);
    },
  });
  admin.add({
    path: "/tasks",
    help: "in-flight tasks (proxied requests) and queues across workers (JSON)",
    handle: async () => {
      await fresh();
      return json({ tasks: pool.tasks(), queues: pool.queues() } satisfies TasksResponse);
    },
  });
  admin.add({
    path: "/events",
    help: "server-sent events: a snapshot of workers, connections, tasks and stats every flush",
    handle: () => hub.subscribe(snapshot),
  });
}
