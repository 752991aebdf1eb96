/**
 * Done-when 4: 50 concurrent streams from one source to one destination share one HTTP/2
 * connection (visible on /connections); 150 use two. The source tunnel runs 4 workers: the kernel
 * spreads the client connections over them, and the workers that do not carry the pool key's
 * streams forward theirs to the one that does. A stream that arrives alone (the key idle) stays on
 * the worker that accepted it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type net from "node:net";
import type { ConnectionInfo, ConnectionsResponse, TasksResponse } from "../../src/admin/wire.ts";
import { baseConfig, echoServer, makeWorkdir, pattern, receiveStream, roundTrip, sendStream, slot, socks5, startTunnel, type TunnelProcess, withTimeout, writeConfig } from "./_harness.ts";

const S = slot(2);
const MiB = 1 << 20;

async function connections(t: TunnelProcess): Promise<ConnectionInfo[]> {
  return ((await (await t.admin("/connections")).json()) as ConnectionsResponse).connections;
}

async function pooled(t: TunnelProcess) {
  return (await connections(t)).filter((c) => c.listener === "hbone_pool");
}

/** Pooled connections with streams in flight. */
function carrying(rows: ConnectionInfo[]) {
  return rows.filter((c) => c.listener === "hbone_pool" && !/\(0 streams\)/.test(c.peer ?? ""));
}

async function inboundSessions(t: TunnelProcess) {
  return (await connections(t)).filter((c) => c.listener === "hbone").length;
}

async function open(t: TunnelProcess, n: number): Promise<net.Socket[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => socks5(t.addresses.socks5, S.wl(2), S.wl(3), 7000)));
  await Promise.all(socks.map((s, i) => roundTrip(s, `stream ${i}`)));
  return socks;
}

/** node-a (4 workers by default) and node-b with the base config and an echo workload, for the length of `body`. */
async function withNodes(
  body: (na: TunnelProcess, nb: TunnelProcess, echo: Awaited<ReturnType<typeof echoServer>>) => Promise<void>,
  nodeA: { workers: number; extra?: string[] } = { workers: 4 },
) {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echo = await echoServer(S.wl(3), 7000);
  const nodes = await Promise.allSettled([
    startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca, ...nodeA }),
    startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca }),
  ]);
  try {
    const [na, nb] = nodes.map((n) => {
      if (n.status === "rejected") throw n.reason;
      return n.value;
    }) as [TunnelProcess, TunnelProcess];
    await body(na, nb, echo);
  } finally {
    await Promise.all(nodes.map((n) => n.status === "fulfilled" ? n.value.stop() : undefined));
    await echo.close();
    await work.cleanup();
  }
}

test("HBONE pooling: 50 streams share one connection, 150 use two", { timeout: 120_000 }, async () => {
  const all: net.Socket[] = [];
  await withNodes(async (na, nb, echo) => {
    try {
      all.push(...await open(na, 50));
      let p = await pooled(na);
      assert.equal(p.length, 1, JSON.stringify(p));
      assert.match(p[0]!.peer ?? "", /\(50 streams\)/);
      assert.equal(p[0]!.kind, "hbone");
      assert.equal(p[0]!.remoteAddress, S.wl(3));
      assert.equal(await inboundSessions(nb), 1);

      // Streams accepted by other workers run on the owner as tasks of their own connections: the
      // inspector sees where each stream's HTTP/2 and TLS work happens.
      const conns = await connections(na);
      const tasks = (await (await na.admin("/tasks")).json() as TasksResponse).tasks;
      const owner = p[0]!.worker;
      const elsewhere = conns.filter((c) => c.listener === "socks5" && c.worker !== owner);
      const forwarded = tasks.filter((t) => t.listener === "peer");
      assert.ok(elsewhere.length > 0, "some streams were accepted by a worker that does not own the pool");
      assert.deepEqual(forwarded.map((t) => t.connectionId).sort(), elsewhere.map((c) => c.id).sort());
      for (const t of forwarded) {
        assert.equal(t.worker, owner);
        assert.equal(t.state, "tunnel_streaming");
        assert.equal(t.route, tasks.find((o) => o.connectionId === t.connectionId && o.listener === "socks5")?.route);
      }

      all.push(...await open(na, 100));
      p = await pooled(na);
      assert.equal(p.length, 2, JSON.stringify(p));
      assert.deepEqual(p.map((c) => /\((\d+) streams\)/.exec(c.peer ?? "")?.[1]).sort(), ["100", "50"]);
      assert.equal(await inboundSessions(nb), 2);
      assert.equal(echo.stats.accepted, 150);
      // The connections really were accepted by several workers (and forwarded to the owner).
      const acceptedBy = new Set((await connections(na)).filter((c) => c.listener === "socks5").map((c) => c.worker));
      assert.ok(acceptedBy.size > 1, `accepted by workers ${[...acceptedBy]}`);
    } finally {
      for (const s of all) s.destroy();
    }
  });
});

test("a stream that arrives alone stays on the worker that accepted it", { timeout: 120_000 }, async () => {
  await withNodes(async (na) => {
    // One connection at a time: each finds the key idle, so the worker that accepted it carries the
    // stream (a fixed owner per key would be another worker for about 3 in 4 of them).
    const acceptedBy = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const s = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
      try {
        await roundTrip(s, `alone ${i}`);
        const conns = await connections(na);
        const client = conns.find((c) => c.listener === "socks5" && c.remotePort === s.localPort);
        const busy = carrying(conns);
        assert.ok(client, `connection ${i} is listed`);
        assert.equal(busy.length, 1, JSON.stringify(busy));
        assert.equal(busy[0]!.worker, client.worker, `connection ${i}: carried by the worker that accepted it`);
        const tasks = (await (await na.admin("/tasks")).json() as TasksResponse).tasks;
        assert.deepEqual(tasks.filter((t) => t.listener === "peer"), [], "nothing forwarded");
        acceptedBy.add(client.worker);
      } finally {
        s.destroy();
      }
      // The stream is released once its relay ends: wait until node-a carries none.
      for (let n = 0;; n++) {
        const rows = await connections(na);
        if (!rows.some((c) => c.listener === "socks5") && carrying(rows).length === 0) break;
        assert.ok(n < 200, "the stream ends on node-a");
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.ok(acceptedBy.size > 1, `accepted by workers ${[...acceptedBy]}: the check above meant something`);
  });
});

test("a stream forwarded to another worker carries 32 MiB intact, both ways", { timeout: 120_000 }, async () => {
  await withNodes(async (na) => {
    // A stream held open keeps the key busy on the worker that accepted it ...
    const holder = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
    try {
      await roundTrip(holder, "holder");
      const owner = (await connections(na)).find((c) => c.listener === "socks5" && c.remotePort === holder.localPort)!.worker;
      // ... so a connection another worker accepts is forwarded to it (PeerStream's flow control).
      let s: net.Socket | undefined;
      for (let i = 0; !s; i++) {
        assert.ok(i < 30, "some connection lands on another worker");
        const c = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
        const row = (await connections(na)).find((r) => r.listener === "socks5" && r.remotePort === c.localPort);
        if (row && row.worker !== owner) {
          s = c;
          const tasks = (await (await na.admin("/tasks")).json() as TasksResponse).tasks;
          assert.ok(tasks.some((t) => t.listener === "peer" && t.worker === owner && t.connectionId === row.id), "forwarded to the owner");
        } else c.destroy();
      }
      const total = 32 * MiB;
      const [sent, echoed] = await withTimeout(
        Promise.all([sendStream(s, total, pattern(MiB, 7)), receiveStream(s)]),
        60_000,
        "forwarded bulk",
      );
      assert.equal(echoed.bytes, total);
      assert.equal(echoed.hash, sent, "the echo matches what was sent");
      s.destroy();
    } finally {
      holder.destroy();
    }
  });
});

test("when the worker carrying a key dies, one of the others takes the key and the rest share its connection", { timeout: 120_000 }, async () => {
  const all: net.Socket[] = [];
  await withNodes(async (na) => {
    try {
      // One stream alone: the accepting worker carries it, and the key counts it there.
      const first = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
      all.push(first);
      await roundTrip(first, "before");
      const dead = (await connections(na)).find((c) => c.listener === "socks5" && c.remotePort === first.localPort)!.worker;
      // Its sockets close with the worker (the client sees the FIN; it is half-open, so no "close").
      const firstClosed = new Promise<void>((r) => {
        first.once("end", () => r());
        first.once("close", () => r());
      });
      const crash = await na.admin(`/debug/crash_worker?worker=${dead}`, { method: "POST" });
      assert.equal(crash.status, 200, await crash.text());
      await withTimeout(firstClosed, 10_000, "the dead worker's connection closes");

      // Its stream was never released. New streams, accepted by the two survivors, share one connection.
      const socks = await open(na, 16);
      all.push(...socks);
      const conns = await connections(na);
      const acceptedBy = new Set(conns.filter((c) => c.listener === "socks5").map((c) => c.worker));
      assert.ok(!acceptedBy.has(dead), "the dead worker accepts nothing");
      assert.equal(acceptedBy.size, 2, `accepted by workers ${[...acceptedBy]}: both survivors`);
      const busy = carrying(conns);
      assert.equal(busy.length, 1, JSON.stringify(busy));
      assert.match(busy[0]!.peer ?? "", /\(16 streams\)/);
    } finally {
      for (const s of all) s.destroy();
    }
  }, { workers: 3, extra: ["--test-hooks"] });
});
