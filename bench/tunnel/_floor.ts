/**
 * The runtime's floors for the tunnel's two paths, run beside weft so the results show what
 * `node:tls` and `node:net` allow. The TLS floor has the same two hops as weft-hbone (plain TCP into
 * node-a, mutual TLS 1.3 between the nodes, plain TCP out of node-b), relayed with `pipe`, without
 * HTTP/2, pooling, policy, metrics or instrumentation. Benchmark peers, not a tunnel: one TLS
 * connection per client connection.
 *
 * Usage: `<runtime> _floor.ts out <listen-host> <listen-port> <tls-host> <tls-port> <dir>` (node-a's
 * side) or `<runtime> _floor.ts in <tls-host> <tls-port> <backend-host> <backend-port> <dir>`
 * (node-b's side); `<dir>` holds `key.pem`, `cert.pem` and `ca.pem`. Prints "listening" when bound.
 *
 * `<runtime> _floor.ts plain <listen-host> <listen-port> <backend-host> <backend-port>` is the
 * plain relay's floor instead: one bare relay over the runtime's own sockets (weft's runtime adapter:
 * `Deno.listen`/`Bun.listen`, as weft-tcp uses), each chunk written on as it arrives, with
 * back-pressure and half-close, as weft-tcp is one tunnel.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import process from "node:process";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { currentRuntime } from "../../src/runtime/mod.ts";
import type { SocketHandlers, TcpSocket } from "../../src/runtime/types.ts";
import { TLS13_CIPHERS } from "../../src/tls/context.ts";

const [side, host, port, toHost, toPort, dir = ""] = process.argv.slice(2) as [string, string, string, string, string, string?];
const material = side === "plain" ? {} : {
  key: readFileSync(join(dir, "key.pem"), "utf8"),
  cert: readFileSync(join(dir, "cert.pem"), "utf8"),
  ca: readFileSync(join(dir, "ca.pem"), "utf8"),
};

function join2(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
}

const listening = () => console.log("listening");
/** Handlers for socket `from` that write what it reads to `to()`, pausing `from` while `to()` is full. */
function pipeTo(to: () => TcpSocket, from: () => TcpSocket): SocketHandlers {
  return {
    data(_s, bytes) {
      if (!to().write(bytes)) from().pause();
    },
    drain: () => to().resume(),
    end: () => to().end(),
    close: (_s, e) => e ? to().destroy() : to().end(),
  };
}

if (side === "plain") {
  const runtime = await currentRuntime();
  await runtime.listenTcp({ hostname: host, port: Number(port), reusePort: false, halfOpen: true }, (client) => {
    // Writes (and an end) before the upstream connection opens are queued by the socket.
    const upstream: TcpSocket = runtime.connectTcp({ hostname: toHost, port: Number(toPort), halfOpen: true }, {
      ...pipeTo(() => client, () => upstream),
      open() {},
    });
    return pipeTo(() => upstream, () => client);
  });
  listening();
} else if (side === "out") {
  net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = tls.connect({
      host: toHost,
      port: Number(toPort),
      ...material,
      minVersion: "TLSv1.3",
      ciphers: TLS13_CIPHERS,
      // The floor checks the chain, not the SPIFFE name (weft checks both).
      checkServerIdentity: () => undefined,
    });
    join2(client, upstream);
  }).listen({ host, port: Number(port) }, listening);
} else {
  tls.createServer({
    ...material,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    ciphers: TLS13_CIPHERS,
    honorCipherOrder: true,
    allowHalfOpen: true,
  }, (peer) => join2(peer, net.connect({ host: toHost, port: Number(toPort), allowHalfOpen: true })))
    .listen({ host, port: Number(port) }, listening);
}
