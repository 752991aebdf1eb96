/**
 * The tunnel on the shared worker runtime, seen from its admin endpoint: counters under Envoy's
 * names on `/stats` (tcp_proxy's `tcp.<stat_prefix>.*`, clusters, Istio's tagged `istio_tcp_*`),
 * flushed as deltas from every worker, and the inspector's snapshot (`/events`) with measured
 * queues, clusters, histograms and certificate state.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Snapshot } from "../../src/admin/wire.ts";
import {
  baseConfig, echoServer, eventually, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess, withTimeout,
  writeConfig,
} from "./_harness.ts";

const S = slot(7);

/** node-a (2 workers) and node-b with the base config and an echo workload on the server's IP. */
async function withNodes(body: (na: TunnelProcess, nb: TunnelProcess) => Promise<void>) {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echo = await echoServer(S.wl(3), 7000);
  const extra = ["--cert-lifetime-s", String(3 * 86400)];
  const nodes = await Promise.allSettled([
    startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca, workers: 2, extra }),
    startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca, extra }),
  ]);
  try {
    const [na, nb] = nodes.map((n) => {
      if (n.status === "rejected") throw n.reason;
      return n.value;
    }) as [TunnelProcess, TunnelProcess];
    await body(na, nb);
  } finally {
    await Promise.all(nodes.map((n) => n.status === "fulfilled" ? n.value.stop() : undefined));
    await echo.close();
    await work.cleanup();
  }
}

/** One tunnelled connection from the client workload to the echo server: 5 bytes each way, then closed. */
async function oneConnection(na: TunnelProcess): Promise<void> {
  const s = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
  assert.equal(await roundTrip(s, "hello"), "hello");
  s.destroy();
}

async function stats(t: TunnelProcess): Promise<Map<string, number>> {
  const r = await t.admin("/stats");
  assert.equal(r.status, 200);
  const out = new Map<string, number>();
  for (const line of (await r.text()).split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i > 0) out.set(line.slice(0, i), Number(line.slice(i + 2)));
  }
  return out;
}

test("admin /stats: tcp_proxy, cluster and Istio-tagged counters from every worker, flushed as deltas", { timeout: 120_000 }, async () => {
  await withNodes(async (na, nb) => {
    await oneConnection(na);
    await assert.rejects(socks5(na.addresses.socks5, S.wl(2), "nowhere.invalid", 80), Refused);
    // Bytes are counted as the relay sees them; wait for the close to reach both tunnels.
    await eventually(async () => (await na.metric("istio_tcp_connections_closed_total", { reporter: "source" })) === 1, 10_000, "closed on node-a");
    await eventually(async () => (await nb.metric("istio_tcp_connections_closed_total", { reporter: "destination" })) === 1, 10_000, "closed on node-b");

    const a = await stats(na);
    assert.equal(a.get("tcp.socks5.downstream_cx_total"), 2);
    assert.equal(a.get("tcp.socks5.downstream_cx_no_route"), 1);
    assert.equal(a.get("tcp.socks5.downstream_cx_rx_bytes_total"), 5);
    assert.equal(a.get("tcp.socks5.downstream_cx_tx_bytes_total"), 5);
    assert.equal(a.get("cluster.hbone.upstream_rq_total"), 1);
    assert.equal(a.get("cluster.hbone.upstream_cx_total"), 1, "one pooled HBONE session");
    assert.equal(a.get("cluster.hbone.upstream_rq_active"), 0);
    const opened = [...a].filter(([name]) => name.startsWith("reporter=.=source;.;") && name.endsWith(";.;istio_tcp_connections_opened_total"));
    assert.equal(opened.length, 1, [...a.keys()].join("\n"));
    assert.equal(opened[0]![1], 1);
    assert.match(opened[0]![0], /;\.;source_workload=\.=client;\.;/);

    const b = await stats(nb);
    assert.equal(b.get("tcp.inbound_hbone.downstream_cx_total"), 1);
    assert.equal(b.get("tcp.inbound_hbone.downstream_cx_rx_bytes_total"), 5);
    assert.equal(b.get("cluster.tcp.upstream_rq_total"), 1);
    assert.equal(b.get("cluster.tcp.upstream_cx_connect_fail"), 0);

    // Envoy's Prometheus rendering of the same store: tag extraction for both kinds of names.
    const prom = await (await na.admin("/stats?format=prometheus")).text();
    assert.match(prom, /^envoy_tcp_downstream_cx_total\{envoy_tcp_prefix="socks5"\} 2$/m);
    assert.match(prom, /^istio_tcp_connections_opened_total\{reporter="source",source_workload="client",/m);
    // ztunnel's /metrics (15020) renders from the same counters.
    assert.equal(await na.metric("istio_tcp_received_bytes_total", { reporter: "source", source_workload: "client" }), 5);
  });
});

/** Snapshots from `/events` until `ok` accepts one (bounded: one arrives per flush). */
async function snapshotWhere(t: TunnelProcess, ok: (s: Snapshot) => boolean): Promise<Snapshot> {
  const res = await t.admin("/events");
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let last: Snapshot | undefined;
  try {
    return await withTimeout((async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("event stream ended");
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = event.split("\n").find((l) => l.startsWith("data: "));
          if (!data) continue;
          last = JSON.parse(data.slice(6)) as Snapshot;
          if (ok(last)) return last;
        }
      }
    })(), 10_000, "a snapshot with the connection's figures").catch((e) => {
      throw new Error(`${e.message}; last snapshot: ${JSON.stringify(last && { queues: last.queues, clusters: last.clusters, histograms: last.histograms })}`);
    });
  } finally {
    await reader.cancel().catch(() => {});
  }
}

test("the inspector's snapshot: queues, clusters, histograms and certificate state are measured", { timeout: 120_000 }, async () => {
  await withNodes(async (na) => {
    await oneConnection(na);
    const hboneHost = `${S.wl(3)}:15008`;
    const snap = await snapshotWhere(na, (s) => s.clusters.some((c) => c.name === "hbone" && c.hosts.some((h) => h.address === hboneHost && h.rqTotal === 1)));

    // Queues: main→worker of each worker (acknowledged messages), and the HBONE connect queue.
    assert.equal(snap.queues.filter((q) => q.name === "main→worker").length, 2);
    const hboneQueue = snap.queues.filter((q) => q.name === `hbone:${hboneHost}`);
    assert.equal(hboneQueue.reduce((n, q) => n + q.total, 0), 1, JSON.stringify(snap.queues));
    assert.equal(hboneQueue.reduce((n, q) => n + q.depth, 0), 0);

    const hbone = snap.clusters.find((c) => c.name === "hbone")!;
    const host = hbone.hosts.find((h) => h.address === hboneHost)!;
    assert.equal(host.cxTotal, 1);
    assert.equal(host.cxConnectFail, 0);
    assert.equal(hbone.rqTotal, 1);
    assert.ok(hbone.rqTimeP99Ms > 0, "the stream's setup time was recorded");
    assert.equal(snap.histograms["cluster.hbone.upstream_cx_connect_ms"]?.count, 1);

    // Certificate state, from the certificates held: node-a hosts one identity (the client's).
    assert.equal(snap.stats["tunnel.workload_certificates"], 1);
    assert.equal(snap.stats["server.days_until_first_cert_expiring"], 2, "a 3-day certificate just minted");
    assert.ok(snap.workers.every((w) => w.status === "running"));
  });
});
