/**
 * Hot restart between weft processes (Envoy's "Hot Restart", adapted). Envoy passes its listening
 * sockets to the new process over a Unix socket; Deno and Bun cannot pass file descriptors, so the
 * new process binds the same addresses with SO_REUSEPORT instead, and both accept until the parent
 * closes its listeners. The control channel is a Unix socket per epoch, named after `--base-id`, in
 * a directory only the user running weft can open (whoever reaches the socket can drain the process):
 *
 *   child → parent  {"type":"release_admin"}   parent closes its admin endpoint, answers "admin_released"
 *   child → parent  {"type":"drain", …}         parent stops accepting and drains, answers "draining"
 *   parent → child  {"type":"stats", counters}  the parent's counters, every flush and once at exit
 *
 * Messages are JSON, one per line.
 *
 * @module
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";

/** This user's id (0 where there are no user ids). */
function userId(): number {
  return process.getuid?.() ?? 0;
}

/** The control socket of the process running `epoch` under `baseId`, in this user's control directory. */
export function controlSocketPath(baseId: number, epoch: number): string {
  return join(tmpdir(), `weft-hot-restart-${userId()}`, `base-${baseId}-epoch-${epoch}.sock`);
}

/**
 * Create `dir` for this user alone (0700), or accept an existing one that is already so. In a shared
 * directory like /tmp another user could have made it first, to listen in place of a parent or to
 * reach ours: refuse it then, saying what is wrong.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    // The umask may have taken bits away: make it exactly 0700 (it is ours, just made).
    chmodSync(dir, 0o700);
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") {
      throw new Error(`hot restart control directory ${dir} cannot be created: ${e instanceof Error ? e.message : e}`);
    }
  }
  checkPrivateDir(dir);
}

/** Throws unless `dir` is a directory (not a link to one) owned by this user that no one else may open. */
function checkPrivateDir(dir: string): void {
  const st = lstatSync(dir);
  const problem = !st.isDirectory()
    ? "is not a directory (a link or a file)"
    : st.uid !== userId()
    ? `is owned by uid ${st.uid}, not by this user (uid ${userId()})`
    : (st.mode & 0o077) !== 0
    ? `has permissions ${(st.mode & 0o777).toString(8)}, but only its owner may open it (700)`
    : null;
  if (problem !== null) throw new Error(`hot restart control directory ${dir} ${problem}; remove it and start again`);
}

/** Whether `path` exists, without following a link. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export interface DrainRequest {
  drainTimeMs: number;
  parentShutdownTimeMs: number;
  strategy: "gradual" | "immediate";
}

type Message =
  | { type: "release_admin" }
  | { type: "admin_released" }
  | ({ type: "drain" } & DrainRequest)
  | { type: "draining"; pid: number }
  | { type: "stats"; counters: Record<string, number> };

function lines(socket: Socket, onMessage: (m: Message) => void): void {
  let buf = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        onMessage(JSON.parse(line) as Message);
      } catch { /* a malformed line from a peer of another version: ignore it */ }
    }
  });
}

function send(socket: Socket, m: Message): void {
  if (!socket.destroyed) socket.write(JSON.stringify(m) + "\n");
}

export interface ParentHandlers {
  releaseAdmin(): Promise<void>;
  /** Begin draining (stop accepting, move clients over, exit at the parent shutdown time). */
  drain(request: DrainRequest): void;
  counters(): Record<string, number>;
}

/** The parent side: listens for the next epoch on this process's control socket. */
export class HotRestartListener {
  private server: Server;
  private children = new Set<Socket>();

  private constructor(readonly path: string, server: Server) {
    this.server = server;
  }

  /** Listen on `path`; its directory is made private first (or refused, with the reason). */
  static listen(path: string, handlers: ParentHandlers): Promise<HotRestartListener> {
    try {
      ensurePrivateDir(dirname(path));
    } catch (e) {
      return Promise.reject(e);
    }
    try {
      unlinkSync(path);
    } catch { /* not there */ }
    return new Promise((resolve, reject) => {
      const server: Server = createServer((socket) => {
        listener.children.add(socket);
        socket.on("close", () => listener.children.delete(socket));
        socket.on("error", () => {});
        lines(socket, (m) => {
          if (m.type === "release_admin") {
            void handlers.releaseAdmin().then(() => send(socket, { type: "admin_released" }));
          } else if (m.type === "drain") {
            handlers.drain(m);
            send(socket, { type: "draining", pid: (globalThis as { process?: { pid: number } }).process?.pid ?? 0 });
            send(socket, { type: "stats", counters: handlers.counters() });
          }
        });
      });
      const listener = new HotRestartListener(path, server);
      server.once("error", reject);
      server.listen(path, () => resolve(listener));
    });
  }

  /** Send the current counters to the child (every flush while draining, and at exit). */
  sendStats(counters: Record<string, number>): void {
    for (const c of this.children) send(c, { type: "stats", counters });
  }

  get hasChild(): boolean {
    return this.children.size > 0;
  }

  close(): void {
    for (const c of this.children) c.end();
    this.server.close();
    try {
      unlinkSync(this.path);
    } catch { /* gone */ }
  }
}

/** The child side: a connection to the previous epoch's process. */
export class ParentLink {
  private waiters = new Map<string, () => void>();
  private lastCounters = new Map<string, number>();

  private constructor(private socket: Socket, onCounterDelta: (name: string, delta: number) => void) {
    lines(socket, (m) => {
      if (m.type === "stats") {
        // Counters carry over as deltas: what the parent counted since its last message.
        for (const [name, value] of Object.entries(m.counters)) {
          const delta = value - (this.lastCounters.get(name) ?? 0);
          this.lastCounters.set(name, value);
          if (delta > 0) onCounterDelta(name, delta);
        }
      }
      this.waiters.get(m.type)?.();
      this.waiters.delete(m.type);
    });
    socket.on("error", () => {});
  }

  /**
   * Connect to the parent's control socket; null when no parent listens there. Rejects when the
   * socket's directory is not this user's alone (what answers there may not be our parent).
   */
  static connect(path: string, onCounterDelta: (name: string, delta: number) => void): Promise<ParentLink | null> {
    const dir = dirname(path);
    if (!exists(dir)) return Promise.resolve(null);
    try {
      checkPrivateDir(dir);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve) => {
      const socket = connect(path);
      socket.once("connect", () => resolve(new ParentLink(socket, onCounterDelta)));
      socket.once("error", () => resolve(null));
    });
  }

  private request(m: Message, answer: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.set(answer, () => {
        clearTimeout(t);
        resolve(true);
      });
      send(this.socket, m);
    });
  }

  /** Ask the parent to close its admin endpoint, so this process can bind the same address. */
  releaseAdmin(): Promise<boolean> {
    return this.request({ type: "release_admin" }, "admin_released", 10_000);
  }

  /** Ask the parent to stop accepting and drain. */
  drain(request: DrainRequest): Promise<boolean> {
    return this.request({ type: "drain", ...request }, "draining", 10_000);
  }

  /** Resolves when the parent has exited (its end of the channel closed). */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) resolve();
      else this.socket.once("close", () => resolve());
    });
  }
}
