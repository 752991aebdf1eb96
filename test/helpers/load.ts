/**
 * A bounded load client for lifecycle tests: keep-alive loops (a connection reused until the server
 * says `connection: close`) and new-connection loops, counting every response by body and every
 * failure (reset, early close, timeout, non-2xx) with its reason.
 *
 * @module
 */
import { RawConnection } from "./http_client.ts";

export interface LoadResult {
  requests: number;
  failures: string[];
  /** Response bodies seen, with counts. */
  bodies: Map<string, number>;
  connectionsOpened: number;
}

export interface LoadOptions {
  port: number;
  keepAlive: number;
  newConnections: number;
  path: string;
  timeoutMs?: number;
}

export class Load {
  private running = true;
  private loops: Promise<void>[] = [];
  readonly result: LoadResult = { requests: 0, failures: [], bodies: new Map(), connectionsOpened: 0 };
  /** Bodies seen since the last `mark()`, to see a change take effect. */
  recent = new Map<string, number>();

  constructor(private options: LoadOptions) {
    for (let i = 0; i < options.keepAlive; i++) this.loops.push(this.keepAliveLoop());
    for (let i = 0; i < options.newConnections; i++) this.loops.push(this.newConnectionLoop());
  }

  private record(body: string): void {
    this.result.requests++;
    this.result.bodies.set(body, (this.result.bodies.get(body) ?? 0) + 1);
    this.recent.set(body, (this.recent.get(body) ?? 0) + 1);
  }

  private fail(why: string): void {
    if (this.result.failures.length < 100) this.result.failures.push(why);
    else this.result.failures.length++;
  }

  mark(): void {
    this.recent = new Map();
  }

  private async keepAliveLoop(): Promise<void> {
    let conn: RawConnection | null = null;
    while (this.running) {
      try {
        if (conn === null) {
          conn = await RawConnection.open(this.options.port);
          this.result.connectionsOpened++;
        }
        const r = await conn.request("GET", this.options.path, {}, "", this.options.timeoutMs ?? 10_000);
        if (r.status !== 200) this.fail(`keep-alive: status ${r.status}: ${r.body}`);
        else this.record(r.body);
        if (r.headers["connection"] === "close") {
          await conn.waitClosed();
          conn = null;
        }
      } catch (e) {
        this.fail(`keep-alive: ${e instanceof Error ? e.message : e}`);
        conn?.close();
        conn = null;
      }
    }
    conn?.close();
  }

  private async newConnectionLoop(): Promise<void> {
    while (this.running) {
      try {
        const conn = await RawConnection.open(this.options.port);
        this.result.connectionsOpened++;
        const r = await conn.request("GET", this.options.path, { connection: "close" }, "", this.options.timeoutMs ?? 10_000);
        if (r.status !== 200) this.fail(`new connection: status ${r.status}: ${r.body}`);
        else this.record(r.body);
        await conn.waitClosed();
      } catch (e) {
        this.fail(`new connection: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  async stop(): Promise<LoadResult> {
    this.running = false;
    await Promise.all(this.loops);
    return this.result;
  }
}
