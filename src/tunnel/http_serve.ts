/**
 * Serves a web-standard `Request → Response` handler on `node:http` (portable across Deno and Bun,
 * no runtime API), streaming response bodies (the event stream) as they are produced.
 *
 * @example
 * ```ts
 * const { server, address } = await serveFetch("127.0.0.2", 15000, (req) => admin.handle(req));
 * ```
 *
 * @module
 */

import http from "node:http";
import type { AddressInfo } from "node:net";

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export async function serveFetch(
  host: string,
  port: number,
  handler: FetchHandler,
): Promise<{ server: http.Server; address: string }> {
  const server = http.createServer((req, res) => {
    void respond(req, res, handler, host);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new Error(`Cannot bind ${host}:${port}: ${e.message}`)));
    server.listen({ host, port }, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, address: `${a.address}:${a.port}` };
}

async function respond(req: http.IncomingMessage, res: http.ServerResponse, handler: FetchHandler, host: string) {
  try {
    const chunks: Uint8Array[] = [];
    if (req.method === "POST" || req.method === "PUT") {
      for await (const c of req) chunks.push(c as Uint8Array);
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const request = new Request(`http://${req.headers.host ?? host}${req.url ?? "/"}`, {
      method: req.method ?? "GET",
      headers,
      ...(body ? { body } : {}),
    });
    const response = await handler(request);
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    res.writeHead(response.status, out);
    if (!response.body || req.method === "HEAD") return void res.end();
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise((r) => res.once("drain", r));
    }
    res.end();
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(`internal error: ${(e as Error).message}\n`);
  }
}
