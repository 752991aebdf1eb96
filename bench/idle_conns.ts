/**
 * Memory per idle connection: open N keep-alive connections through the proxy, send one request on
 * each (so each is a real proxied keep-alive connection that has been through the whole request
 * path), then hold them all idle and compare the proxy's RSS before and after. A node:net client
 * (works on Deno and Bun), bounded in time.
 *
 * @module
 */
import { createConnection, type Socket } from "node:net";

export interface IdleOptions {
  port: number;
  count: number;
  /** Connections being opened or answered at once. */
  concurrency?: number;
  /** How long the connections sit idle before RSS is read. */
  holdMs?: number;
  /** The whole run, opening included. */
  timeoutMs?: number;
  /** The proxy's RSS, bytes. */
  rss(): number;
}

export interface IdleResult {
  opened: number;
  failed: number;
  /** First few failure messages. */
  failures: string[];
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Still open when RSS was read after the hold. */
  openAfterHold: number;
  openMs: number;
  perConnectionKiB: number;
}

const REQUEST = "GET / HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: weft-bench-idle\r\n\r\n";

/** Connect, send one request, read one full response (Content-Length framed); resolve with the open socket. */
function oneExchange(port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    let buf = "";
    const fail = (why: string) => {
      s.destroy();
      reject(new Error(why));
    };
    s.setNoDelay(true);
    s.setTimeout(timeoutMs, () => fail("timeout waiting for the response"));
    s.once("error", (e) => fail(e.message));
    s.once("close", () => fail("closed before the response"));
    s.once("connect", () => s.write(REQUEST));
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const status = buf.slice(9, 12);
      const cl = buf.slice(0, end).match(/\r\ncontent-length:\s*(\d+)/i);
      if (!cl) return fail(`response without content-length: ${JSON.stringify(buf.slice(0, 200))}`);
      if (buf.length - end - 4 < Number(cl[1])) return;
      if (status !== "200") return fail(`status ${status}`);
      if (/\r\nconnection:\s*close/i.test(buf.slice(0, end))) return fail("the proxy answered Connection: close");
      s.removeAllListeners();
      s.setTimeout(0);
      resolve(s);
    };
    s.on("data", onData);
  });
}

export async function measureIdleConnections(o: IdleOptions): Promise<IdleResult> {
  const concurrency = o.concurrency ?? 200;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const sockets: Socket[] = [];
  const failures: string[] = [];
  let failed = 0;
  let closedLater = 0;
  const rssBeforeBytes = o.rss();
  const t0 = Date.now();
  let next = 0;
  const lane = async () => {
    while (next < o.count && Date.now() < deadline) {
      next++;
      try {
        const s = await oneExchange(o.port, Math.max(1000, Math.min(15_000, deadline - Date.now())));
        s.on("error", () => {});
        s.on("close", () => closedLater++);
        s.on("data", () => {}); // nothing is expected; keep the socket flowing
        sockets.push(s);
      } catch (e) {
        failed++;
        if (failures.length < 5) failures.push(e instanceof Error ? e.message : String(e));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
    const openMs = Date.now() - t0;
    const holdUntil = Math.min(deadline, Date.now() + (o.holdMs ?? 3000));
    await new Promise((r) => setTimeout(r, Math.max(0, holdUntil - Date.now())));
    const rssAfterBytes = o.rss();
    const openAfterHold = sockets.length - closedLater;
    const n = Math.max(1, openAfterHold);
    return {
      opened: sockets.length,
      failed,
      failures,
      rssBeforeBytes,
      rssAfterBytes,
      openAfterHold,
      openMs,
      perConnectionKiB: (rssAfterBytes - rssBeforeBytes) / n / 1024,
    };
  } finally {
    for (const s of sockets) s.destroy();
  }
}
