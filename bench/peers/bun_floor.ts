/**
 * The runtime's floor for an HTTP/1.1 proxy on Bun, run beside weft so every results file shows
 * how close weft is to what the runtime allows: `Bun.listen` downstream, weft's strict request
 * and response head parsers, one pooled `Bun.connect` upstream connection per downstream
 * connection, bytes forwarded as received. No routing, stats, instrumentation, timeouts, header
 * rewriting or back-pressure: a benchmark peer, not a proxy (bodies must arrive with their head).
 *
 * Usage: `bun bench/peers/bun_floor.ts <listen-port> <backend-port> [threads]`. With `threads` > 1
 * the relay runs in that many worker threads, each with its own `SO_REUSEPORT` listener: weft's
 * thread model, so weft with N workers can be compared with the floor in N threads.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { parseRequestHead, parseResponseHead } from "../../src/edge/http1/mod.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
type Socket = any;

const args: string[] = isMainThread ? process.argv.slice(2) : workerData;
const [listenPort, backendPort, threads = 1] = args.map(Number);
const limits = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

if (isMainThread && threads > 1) {
  // Each worker listens with the same arguments and says when it does. A worker that fails, even
  // later, ends the process, so a run never goes on with fewer threads than it reports.
  await Promise.all(Array.from({ length: threads }, () =>
    new Promise<void>((resolve) => {
      const w = new Worker(new URL(import.meta.url), { workerData: args });
      w.once("message", () => resolve());
      w.on("error", (e) => {
        console.error("bun floor: a worker failed:", e);
        process.exit(1);
      });
    })));
  ready();
} else if (isMainThread) {
  listen();
  ready();
} else {
  listen();
  parentPort!.postMessage("ready");
}

/** The harness waits for this line, thread count included (an older floor printed no count). */
function ready(): void {
  console.error(`bun floor: ready, ${threads} thread${threads > 1 ? "s" : ""}`);
  process.on("SIGTERM", () => process.exit(0));
}

function listen(): void {
  Bun.listen({
    hostname: "127.0.0.1",
    port: listenPort,
    reusePort: threads > 1,
    socket: {
      open(client: Socket) {
        client.data = { upstream: null, queued: [] as Uint8Array[] };
      },
      data(client: Socket, bytes: Uint8Array) {
        const r = parseRequestHead(bytes, limits);
        if (r.status !== "ok") {
          client.end();
          return;
        }
        const state = client.data;
        if (state.upstream !== null) {
          state.upstream.write(bytes);
          return;
        }
        state.queued.push(bytes.slice());
        if (state.queued.length > 1) return;
        Bun.connect({
          hostname: "127.0.0.1",
          port: backendPort,
          socket: {
            open(upstream: Socket) {
              state.upstream = upstream;
              for (const b of state.queued) upstream.write(b);
              state.queued = [];
            },
            data(_upstream: Socket, response: Uint8Array) {
              parseResponseHead(response, "GET", limits);
              client.write(response);
            },
            close() {
              client.end();
            },
          },
        });
      },
      close(client: Socket) {
        client.data.upstream?.end();
      },
    },
  });
}
