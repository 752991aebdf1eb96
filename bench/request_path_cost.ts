/**
 * What one proxied request costs weft's JavaScript, without the kernel (not a test): an `EdgeWorker`
 * with the benchmark bootstrap (`peers/weft.yaml`: five routes, stats, instrumentation) runs over
 * in-memory sockets; 64 downstream connections take turns sending wrk's request head, and the one
 * pooled upstream connection answers with nginx's 13-byte response. Beside it, the Bun floor's work
 * for the same request (parse both heads, write both), so the difference is what weft adds.
 *
 * With `--ab <dir>` a second source tree (e.g. a `git worktree` of another commit, with its own
 * `src/`) runs in the same process, alternating rounds, and the per-round difference is reported:
 * on a shared machine separate runs differ by more than most single changes. Check the resolution
 * first with `--ab` on an identical copy of this tree (on our 2-core VM: up to ±250 ns).
 *
 *   bun bench/request_path_cost.ts [--ab ../weft-old] [--rounds 15]
 *   deno run -A bench/request_path_cost.ts
 *   BUN_JSC_logGC=true bun bench/request_path_cost.ts   # what survives young collections
 *
 * Bytes allocated per request on JavaScriptCore: with `BUN_JSC_logGC=true` an eden collection starts
 * every 8 MiB allocated ("bytes allowed: 8388608"), so count the `EdenCollection` lines over a known
 * number of requests (weft's path alone: 1510 bytes per request at 1ed96c8's parent, 1317 after).
 *
 * Pin it to one core (`taskset -c 0`) for steadier numbers.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { option } from "./argv.ts";
import { spread } from "./stats.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const ROUNDS = Number(option("rounds", "15"));
const REQUESTS = 100_000;
const CONNECTIONS = 64;
const HERE = fileURLToPath(new URL(".", import.meta.url));

const encoder = new TextEncoder();
const REQUEST = encoder.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1:18000\r\n\r\n");
const RESPONSE = encoder.encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 14:00:00 GMT\r\n" +
    "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nhello, world\n",
);

/** A socket that takes every write at once and counts it. */
class MemorySocket {
  remoteAddress = "127.0.0.1";
  localPort = 18000;
  pendingBytes = 0;
  closed = false;
  written = 0;
  handlers: Any = null;
  constructor(readonly remotePort: number) {}
  write(data: Uint8Array, start = 0, end = data.byteLength): boolean {
    this.written += end - start;
    return true;
  }
  end(): void {
    this.closed = true;
  }
  destroy(): void {
    this.closed = true;
  }
  pause(): void {}
  resume(): void {}
}

/** Loads weft from `root` (a directory holding `src/`) and returns a function timing n requests (ns each). */
async function weftPath(root: string): Promise<(n: number) => number> {
  const load = (path: string) => import(`${root}/src/${path}`);
  const { parseBootstrap } = await load("config/bootstrap.ts");
  const { currentRuntime } = await load("runtime/mod.ts");
  const { Dispatcher } = await load("worker/dispatcher.ts");
  const { EdgeWorker } = await load("edge/edge_worker.ts");
  const { createLimitsBuffer } = await load("edge/connection_limits.ts");
  const yaml = readFileSync(`${HERE}peers/weft.yaml`, "utf8")
    .replaceAll("{{PORT}}", "18000").replaceAll("{{ADMIN_PORT}}", "18901").replaceAll("{{BACKEND_PORT}}", "18080");
  const parsed = parseBootstrap(yaml);
  if (!parsed.ok) throw new Error(`peers/weft.yaml: ${JSON.stringify(parsed.errors)}`);
  const bootstrap = parsed.bootstrap;
  const endpoints: Record<string, unknown> = {};
  for (const c of bootstrap.clusters) endpoints[c.name] = c.endpoints;

  let accept: (s: MemorySocket) => Any = () => null;
  const upstreams: MemorySocket[] = [];
  const runtime = Object.create(await currentRuntime());
  runtime.listenTcp = (o: Any, onOpen: Any) => {
    accept = onOpen;
    return Promise.resolve({ hostname: o.hostname, port: o.port, close() {} });
  };
  runtime.connectTcp = (_o: Any, handlers: Any) => {
    const s = new MemorySocket(5000 + upstreams.length);
    s.handlers = handlers;
    upstreams.push(s);
    queueMicrotask(() => handlers.open(s));
    return s;
  };
  const dispatcher = new Dispatcher(0, { instrumentation: true });
  await new EdgeWorker(runtime).start({
    workerId: 0,
    payload: { version: "1", bootstrap, endpoints, listenerIndex: { edge: 0 }, resolvedPorts: {}, limits: createLimitsBuffer(1) },
    resolvedPorts: {},
    instrumentation: true,
    flushIntervalMs: 1000,
    testHooks: false,
  } as Any, dispatcher);
  const clients = Array.from({ length: CONNECTIONS }, (_, i) => {
    const s = new MemorySocket(40_000 + i);
    return { s, h: accept(s) };
  });
  // The first request opens the pooled upstream connection; every later one reuses it.
  clients[0]!.h.data(clients[0]!.s, REQUEST);
  await new Promise((r) => setTimeout(r, 10));
  upstreams[0]!.handlers.data(upstreams[0], RESPONSE);
  if (clients[0]!.s.written === 0) throw new Error("weft did not answer the first request");
  return (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const c = clients[i % CONNECTIONS]!;
      c.h.data(c.s, REQUEST);
      const up = upstreams[upstreams.length - 1]!;
      up.handlers.data(up, RESPONSE);
    }
    const ns = ((performance.now() - t0) * 1e6) / n;
    if (upstreams.length !== 1) throw new Error(`the upstream pool grew to ${upstreams.length} connections`);
    return ns;
  };
}

/** The Bun floor's JavaScript for the same request: parse both heads, write both. */
async function floorPath(): Promise<(n: number) => number> {
  const { parseRequestHead, parseResponseHead } = await import("../src/edge/http1/mod.ts");
  const limits = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };
  const client = new MemorySocket(1);
  const upstream = new MemorySocket(2);
  return (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (parseRequestHead(REQUEST, limits).status === "ok") upstream.write(REQUEST);
      if (parseResponseHead(RESPONSE, "GET", limits).status === "ok") client.write(RESPONSE);
    }
    return ((performance.now() - t0) * 1e6) / n;
  };
}

const other = option("ab", "");
const paths: [string, (n: number) => number][] = [["weft", await weftPath(fileURLToPath(new URL("..", import.meta.url)))]];
if (other) paths.push([`weft at ${other}`, await weftPath(other.startsWith("/") ? other : `${process.cwd()}/${other}`)]);
paths.push(["floor", await floorPath()]);

for (const [, run] of paths) run(REQUESTS); // warm-up (JIT)
const samples = paths.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) paths.forEach(([, run], i) => samples[i]!.push(run(REQUESTS)));
const median = (xs: number[]) => spread(xs).median;
const runtime = process.versions.bun ? `bun ${process.versions.bun}` : `deno ${(process.versions as Record<string, string>).deno}`;
console.log(`${runtime}: ns per proxied request, median of ${ROUNDS} rounds × ${REQUESTS} requests`);
paths.forEach(([name], i) => console.log(`  ${name.padEnd(24)} ${median(samples[i]!).toFixed(0)}`));
if (other) {
  const delta = median(samples[1]!.map((v, r) => v - samples[0]![r]!));
  console.log(`  (${other}) − this tree: ${delta.toFixed(0)} ns (median of per-round differences)`);
}
process.exit(0);
