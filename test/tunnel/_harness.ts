/**
 * End-to-end harness for `weft tunnel`: real tunnel processes (same runtime as the test), workload
 * servers on 127.x addresses, SOCKS5 and HTTP CONNECT clients bound to a workload's source IP,
 * metrics and admin scraping. Every wait is bounded.
 *
 * Addresses: each test file takes a slot `k`; its nodes bind 127.0.<b>.2 and .3 and its workloads
 * live on 127.0.<b+1>.x with b = 20k (+10 under Bun), so files and runtimes can run at once. Slot 0
 * under Deno is exactly the issue's layout (node-a 127.0.0.2, node-b 127.0.0.3, workloads 127.0.1.x).
 *
 * @module
 */

import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { withTimeout } from "../helpers/timeout.ts";
import { initCa } from "../../src/tls/ca.ts";
import { parsePrometheus } from "../../src/tunnel/metrics.ts";

export const IS_BUN = Boolean(process.versions.bun);
const ENTRY = fileURLToPath(new URL("./_entry.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface Slot {
  nodeA: string;
  nodeB: string;
  /** Workload address `n` of this slot: 127.0.<b+1>.n */
  wl(n: number): string;
  /** A VIP: 127.10.<b>.n */
  vip(n: number): string;
}

export function slot(k: number): Slot {
  const b = 20 * k + (IS_BUN ? 10 : 0);
  return {
    nodeA: `127.0.${b}.2`,
    nodeB: `127.0.${b}.3`,
    wl: (n) => `127.0.${b + 1}.${n}`,
    vip: (n) => `127.10.${b}.${n}`,
  };
}

export { withTimeout };

/** A temp dir with a fresh CA. */
export async function makeWorkdir(): Promise<{ dir: string; ca: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "weft-tunnel-e2e-"));
  const ca = join(dir, "ca");
  await initCa(ca);
  return { dir, ca, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeConfig(path: string, yaml: string): Promise<void> {
  await writeFile(path, yaml);
}

export interface TunnelAddresses {
  outbound: string;
  socks5: string;
  hbone: Record<string, string>;
  admin: string;
  metrics: string;
  readiness: string;
}

export class TunnelProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  addresses!: TunnelAddresses;
  readonly exited: Promise<number | null>;
  #lineWaiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];

  constructor(readonly child: ChildProcess, readonly name: string) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let buf = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        for (const w of [...this.#lineWaiters]) {
          if (w.pred(line)) {
            this.#lineWaiters.splice(this.#lineWaiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      this.stderr.push(d);
      if (process.env.WEFT_TEST_VERBOSE) process.stderr.write(`[${name}] ${d}`);
    });
  }

  /** Resolves with the first (past or future) stdout line matching `pred`. */
  waitForLine(pred: (l: string) => boolean, ms = 10_000, what = "a log line"): Promise<string> {
    const have = this.lines.find(pred);
    if (have !== undefined) return Promise.resolve(have);
    return withTimeout(new Promise<string>((resolve) => this.#lineWaiters.push({ pred, resolve })), ms, `${this.name}: ${what}\nstderr: ${this.stderr.join("")}`);
  }

  async admin(path: string, init?: RequestInit): Promise<Response> {
    return await fetch(`http://${this.addresses.admin}${path}`, init);
  }

  async metrics(): Promise<{ name: string; labels: Record<string, string>; value: number }[]> {
    const r = await fetch(`http://${this.addresses.metrics}/metrics`);
    return parsePrometheus(await r.text());
  }

  /** Sum of samples of `name` whose labels include `where`. */
  async metric(name: string, where: Record<string, string> = {}): Promise<number> {
    return sum(await this.metrics(), name, where);
  }

  /** Sends a signal by pid: Deno's `ChildProcess.kill` reports the exit as killed-by-signal even
   * when the child handled it and exited 0. */
  signal(sig: NodeJS.Signals): void {
    process.kill(this.child.pid!, sig);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGKILL");
    await withTimeout(this.exited, 5000, `${this.name} exit`).catch(() => {});
  }
}

export function sum(samples: { name: string; labels: Record<string, string>; value: number }[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** Polls `fn` until it returns true (bounded). For state only visible through an HTTP endpoint. */
export async function eventually(fn: () => Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `weft tunnel serve` in a child process of the same runtime; resolves when ready. */
export async function startTunnel(args: {
  name: string;
  config: string;
  node: string;
  bind: string;
  ca: string;
  workers?: number;
  extra?: string[];
  /** Run the tunnel on this runtime (default: the test's own). */
  runtime?: "deno" | "bun";
  /** Extra environment variables for the tunnel process. */
  env?: Record<string, string>;
}): Promise<TunnelProcess> {
  const rt = args.runtime ?? (IS_BUN ? "bun" : "deno");
  const bin = rt === (IS_BUN ? "bun" : "deno") ? process.execPath : rt;
  // Admin listens on 127.0.0.1, shared by every tunnel of every test: a free port each (`extra` may override).
  const cli = ["tunnel", "serve", "-c", args.config, "--node", args.node, "--bind", args.bind, "--ca", args.ca, "--admin-port", "0", ...(args.workers ? ["--workers", String(args.workers)] : []), ...(args.extra ?? [])];
  const argv = rt === "bun" ? [ENTRY, ...cli] : ["run", "-A", ENTRY, ...cli];
  const child = spawn(bin, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...args.env } });
  const t = new TunnelProcess(child, args.name);
  const ready = t.waitForLine((l) => l.startsWith("weft tunnel: ready "), 30_000, "ready");
  const exited = t.exited.then((code) => {
    throw new Error(`${args.name} exited with ${code} before ready:\n${t.stderr.join("")}`);
  });
  const line = await Promise.race([ready, exited]);
  t.addresses = JSON.parse(line.slice("weft tunnel: ready ".length));
  return t;
}

function splitAddr(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(":");
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

function connectFrom(proxy: string, srcIp: string): Promise<net.Socket> {
  const { host, port } = splitAddr(proxy);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress: srcIp, allowHalfOpen: true }, () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

function readExactly(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= n) {
        s.off("data", onData);
        s.off("end", onEnd);
        s.pause();
        if (buf.length > n) s.unshift(buf.subarray(n));
        resolve(buf.subarray(0, n));
      }
    };
    const onEnd = () => reject(new Error(`connection closed after ${buf.length} of ${n} bytes`));
    s.on("data", onData);
    s.once("end", onEnd);
    s.once("error", reject);
    s.resume();
  });
}

/** Thrown when the proxy refuses a tunnel; `code` is the SOCKS reply or HTTP status. */
export class Refused extends Error {
  constructor(readonly code: number) {
    super(`refused with ${code}`);
  }
}

/** The 16 bytes of an IPv6 address (`::` and a dotted IPv4 tail allowed). */
function ipv6Bytes(ip: string): Uint8Array {
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const text = tail ? ip.slice(0, tail.index) + [0, 1].map((i) => ((Number(tail[1 + 2 * i]) << 8) | Number(tail[2 + 2 * i])).toString(16)).join(":") : ip;
  const [head, rest] = text.split("::") as [string, string | undefined];
  const groups = (g: string) => (g ? g.split(":").map((x) => parseInt(x, 16)) : []);
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 255]));
}

/** A SOCKS5 CONNECT from `srcIp` through `proxy`; resolves with the open tunnel. */
export async function socks5(proxy: string, srcIp: string, host: string, port: number): Promise<net.Socket> {
  const s = await connectFrom(proxy, srcIp);
  s.on("error", () => {});
  s.write(Uint8Array.of(5, 1, 0));
  const g = await readExactly(s, 2);
  if (g[1] !== 0) throw new Error("SOCKS5 no acceptable method");
  const [atyp, addr] = net.isIPv4(host)
    ? [1, Uint8Array.from(host.split(".").map(Number))]
    : net.isIPv6(host)
    ? [4, ipv6Bytes(host)]
    : [3, Uint8Array.of(Buffer.byteLength(host), ...Buffer.from(host))];
  s.write(Uint8Array.of(5, 1, 0, atyp, ...addr, port >> 8, port & 0xff));
  let r: Buffer;
  try {
    r = await readExactly(s, 10);
  } catch {
    s.destroy();
    throw new Refused(-1);
  }
  if (r[1] !== 0) {
    s.destroy();
    throw new Refused(r[1]!);
  }
  s.resume();
  return s;
}

/** An HTTP CONNECT from `srcIp` through `proxy`. */
export async function httpConnect(proxy: string, srcIp: string, host: string, port: number): Promise<net.Socket> {
  const s = await connectFrom(proxy, srcIp);
  s.on("error", () => {});
  s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  const head = await new Promise<{ status: number; rest: Buffer }>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf("\r\n\r\n");
      if (i < 0) return;
      s.off("data", onData);
      s.pause();
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(buf.subarray(0, i).toString())?.[1]), rest: buf.subarray(i + 4) });
    };
    s.on("data", onData);
    s.once("end", () => reject(new Refused(-1)));
    s.resume();
  });
  if (head.status !== 200) {
    s.destroy();
    throw new Refused(head.status);
  }
  if (head.rest.length) s.unshift(head.rest);
  s.resume();
  return s;
}

/** Listens, rejecting on a bind error (an address left in use must fail the test, not hang it). */
export function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Deterministic pseudo-random bytes. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

/** Writes `total` bytes (the `block` repeated) with backpressure, hashing them; ends the write side. */
export async function sendStream(s: net.Socket, total: number, block: Buffer): Promise<string> {
  const h = createHash("sha256");
  let sent = 0;
  while (sent < total) {
    const n = Math.min(block.length, total - sent);
    const chunk = n === block.length ? block : block.subarray(0, n);
    h.update(chunk);
    sent += n;
    if (!s.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onClose = () => reject(new Error(`closed after sending ${sent} of ${total}`));
        s.once("drain", () => {
          s.off("close", onClose);
          resolve();
        });
        s.once("close", onClose);
      });
    }
  }
  s.end();
  return h.digest("hex");
}

/** Reads to EOF, hashing; resolves with the hash and byte count. */
export function receiveStream(s: net.Socket): Promise<{ hash: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    let bytes = 0;
    s.on("data", (d: Buffer) => {
      h.update(d);
      bytes += d.length;
    });
    s.once("end", () => resolve({ hash: h.digest("hex"), bytes }));
    s.once("error", reject);
  });
}

/**
 * A bulk workload: on each connection it sends `sendBytes` of a pattern while hashing what it
 * receives, and records both hashes when the connection is done.
 */
export async function bulkServer(host: string, port: number, sendBytes: number) {
  const results: { received: { hash: string; bytes: number }; sentHash: string; remote: string }[] = [];
  const waiters: ((n: number) => void)[] = [];
  const block = pattern(1 << 20, 99);
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    const remote = `${s.remoteAddress}`;
    const rx = receiveStream(s);
    const tx = sendStream(s, sendBytes, block);
    void Promise.all([rx, tx]).then(([received, sentHash]) => {
      results.push({ received, sentHash, remote });
      for (const w of waiters.splice(0)) w(results.length);
    }).catch(() => {});
  });
  await listenOn(server, host, port);
  return {
    server,
    results,
    block,
    /** Resolves when `n` connections have completed. */
    completed: (n: number) =>
      results.length >= n ? Promise.resolve(results.length) : new Promise<number>((resolve) => {
        const check = (m: number) => (m >= n ? resolve(m) : waiters.push(check));
        waiters.push(check);
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A workload that echoes everything back. */
export async function echoServer(host: string, port: number) {
  const sockets = new Set<net.Socket>();
  const stats = { accepted: 0 };
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    stats.accepted++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.pipe(s);
  });
  await listenOn(server, host, port);
  return {
    server,
    sockets,
    stats,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Sends `msg` and resolves with the echo. */
export function roundTrip(s: net.Socket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= msg.length) {
        s.off("data", onData);
        resolve(got);
      }
    };
    s.on("data", onData);
    s.once("close", () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
    s.write(msg);
  });
}

/** Runs a command, resolving with exit code and stdout. */
export function run(cmd: string, args: string[], ms = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      c.stdout!.on("data", (d) => (stdout += d));
      c.stderr!.on("data", (d) => (stderr += d));
      c.on("exit", (code) => resolve({ code, stdout, stderr }));
    }),
    ms,
    `${cmd} ${args.join(" ")}`,
  );
}

/** The config used by most e2e tests: a client on node-a, a server on node-b, a service. */
export function baseConfig(s: Slot, extra = ""): string {
  return `workloads:
- uid: cluster1//v1/Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["${s.wl(2)}"]
  protocol: HBONE
  node: node-a
- uid: cluster1//v1/Pod/default/server
  name: server
  namespace: default
  serviceAccount: server
  workloadIps: ["${s.wl(3)}"]
  protocol: HBONE
  node: node-b
  services:
    "default/server.default.svc.cluster.local":
      80: 8080
- uid: cluster1//v1/Pod/default/plain
  name: plain
  namespace: default
  serviceAccount: plain
  workloadIps: ["${s.wl(4)}"]
  protocol: TCP
  node: node-b
services:
- name: server
  namespace: default
  hostname: server.default.svc.cluster.local
  vips: ["/${s.vip(1)}"]
  ports:
    80: 8080
${extra}`;
}

export const CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client";
export const SERVER_ID = "spiffe://cluster.local/ns/default/sa/server";
