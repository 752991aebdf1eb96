/**
 * Real upstream servers for tests (`node:http`, which runs on Deno and Bun): each answers with its
 * name and what it received, so a test can tell which upstream served a request.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Upstream {
  name: string;
  port: number;
  server: Server;
  requests: number;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, upstream: Upstream) => void;

/** Default behaviour: `upstream=<name> <method> <url>` after reading the whole body. */
export const echoName: UpstreamHandler = (req, res, u) => {
  let n = 0;
  req.on("data", (c: Uint8Array) => (n += c.byteLength));
  req.on("end", () => {
    const body = `upstream=${u.name} ${req.method} ${req.url} body=${n}`;
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
};

export function startUpstream(name: string, handler: UpstreamHandler = echoName): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const u: Upstream = {
      name,
      port: 0,
      server: null as unknown as Server,
      requests: 0,
      close: () =>
        new Promise<void>((r) => {
          u.server.closeAllConnections?.();
          u.server.close(() => r());
        }),
    };
    u.server = createServer((req, res) => {
      u.requests++;
      handler(req, res, u);
    });
    u.server.keepAliveTimeout = 60_000;
    u.server.on("error", reject);
    u.server.listen(0, "127.0.0.1", () => {
      u.port = (u.server.address() as AddressInfo).port;
      resolve(u);
    });
  });
}
