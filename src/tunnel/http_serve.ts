/**
 * Serves a web-standard `Request → Response` handler on `node:http` (portable across Deno and Bun,
 * no runtime API), streaming response bodies (the event stream) as they are produced. The request
 * URL is built from the listener's own address and the request target, never from the client's
 * `Host` header: a forged `Host: x/quitquitquit?` turned `POST /anything` into `/quitquitquit`.
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
import { formatHostPort } from "../config/address.ts";

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export async function serveFetch(
  host: string,
  port: number,
  handler: FetchHandler,
): Promise<{ server: http.Server; address: string }> {
  let origin = "";
  const server = http.createServer((req, res) => {
    void respond(req, res, handler, origin);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new Error(`Cannot bind ${host}:${port}: ${e.message}`)));
    server.listen({ host, port }, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = formatHostPort(a.address, a.port);
  origin = `http://${address}`;
  return { server, address };
}

/**
 * The path and query of a request target: origin-form as is, absolute-form's own (RFC 9112 §3.2.2:
 * a server accepts it; its authority is ignored like `Host`); undefined for anything else.
 */
function pathOf(target: string): string | undefined {
  if (target.startsWith("/")) return target;
  try {
    const u = new URL(target);
    return u.protocol === "http:" || u.protocol === "https:" ? u.pathname + u.search : undefined;
  } catch {
    return undefined;
  }
}

async function respond(req: http.IncomingMessage, res: http.ServerResponse, handler: FetchHandler, origin: string) {
  try {
    const path = pathOf(req.url ?? "/");
    if (path === undefined) {
      res.writeHead(400, { "content-type": "text/plain", connection: "close" });
      return void res.end(`bad request target ${JSON.stringify((req.url ?? "").slice(0, 80))}\n`);
    }
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
    const request = new Request(`${origin}${path}`, {
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
