/**
 * Lifecycle paths of the admin endpoint: `/ready`, `/server_info`, POST `/healthcheck/fail|ok`,
 * POST `/drain_listeners`, POST `/quitquitquit`, and (only with test hooks on) POST
 * `/debug/block_worker?worker=N&ms=M` and POST `/debug/crash_worker?worker=N` (also the tunnel's).
 *
 * @module
 */
import { type AdminRegistry, json, text } from "../admin/registry.ts";
import type { ServerInfo } from "../admin/wire.ts";

export interface LifecycleControl {
  serverInfo(): ServerInfo & Record<string, unknown>;
  state(): ServerInfo["state"];
  setHealthCheckFailed(failed: boolean): void;
  drainListeners(): void;
  quit(): void;
  /** Test hooks: null when hooks are off. */
  blockWorker: ((worker: number, ms: number) => boolean) | null;
  crashWorker: ((worker: number) => boolean) | null;
}

export function registerLifecycleAdmin(admin: AdminRegistry, control: LifecycleControl): void {
  admin.add({
    path: "/ready",
    help: "print server state, return 200 if LIVE, otherwise return 503",
    handle() {
      const state = control.state();
      return text(state === "LIVE" ? 200 : 503, `${state}\n`);
    },
  });
  admin.add({ path: "/server_info", help: "print server version/status information", handle: () => json(control.serverInfo()) });
  admin.add({
    path: "/healthcheck/fail",
    method: "POST",
    help: "cause the server to fail health checks",
    handle() {
      control.setHealthCheckFailed(true);
      return text(200, "OK\n");
    },
  });
  admin.add({
    path: "/healthcheck/ok",
    method: "POST",
    help: "cause the server to pass health checks",
    handle() {
      control.setHealthCheckFailed(false);
      return text(200, "OK\n");
    },
  });
  admin.add({
    path: "/drain_listeners",
    method: "POST",
    help: "drain listeners: stop accepting, finish in-flight requests, close idle connections",
    handle() {
      control.drainListeners();
      return text(200, "OK\n");
    },
  });
  admin.add({
    path: "/quitquitquit",
    method: "POST",
    help: "exit the server after draining",
    handle() {
      // Answer first: the drain closes listeners, and this response must still reach the caller.
      setTimeout(() => control.quit(), 0);
      return text(200, "OK\n");
    },
  });
  const block = control.blockWorker;
  if (block !== null) {
    admin.add({
      path: "/debug/block_worker",
      method: "POST",
      hidden: true,
      help: "test hook: hold a worker's event loop (?worker=N&ms=M)",
      handle(_req, url) {
        const worker = Number(url.searchParams.get("worker"));
        const ms = Number(url.searchParams.get("ms") ?? "1000");
        if (!Number.isInteger(worker) || !(ms > 0 && ms <= 60_000)) {
          return text(400, "worker must be an integer and ms from 1 to 60000\n");
        }
        return block(worker, ms) ? text(200, "OK\n") : text(404, `no worker ${worker}\n`);
      },
    });
  }
  if (control.crashWorker !== null) registerCrashWorkerHook(admin, control.crashWorker);
}

/**
 * Test hook POST `/debug/crash_worker?worker=N` (the proxy's and the tunnel's): `crash` makes that
 * worker throw from its event loop, false if there is no such live worker.
 */
export function registerCrashWorkerHook(admin: AdminRegistry, crash: (worker: number) => boolean): void {
  admin.add({
    path: "/debug/crash_worker",
    method: "POST",
    hidden: true,
    help: "test hook: make a worker throw from its event loop (?worker=N)",
    handle(_req, url) {
      const worker = Number(url.searchParams.get("worker"));
      if (!Number.isInteger(worker)) return text(400, "worker must be an integer\n");
      return crash(worker) ? text(200, "OK\n") : text(404, `no worker ${worker}\n`);
    },
  });
}
