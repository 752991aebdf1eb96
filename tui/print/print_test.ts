import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClusterInfo, WorkerInfo } from "../../src/admin/wire.ts";
import { advance, EMPTY_DERIVED } from "../state/derive.ts";
import { compileFilter } from "../state/select.ts";
import { DEFAULT_THRESHOLDS } from "../state/types.ts";
import { fixturePath, fixtures, later, startFakeAdmin, waitFor } from "../testing.ts";
import { flattenJson, pruneJson, renderConfig, renderSnapshot } from "./render.ts";
import { runPrint } from "./run.ts";
import { formatTable } from "./table.ts";

const all = () => true;
const [a, b] = fixtures();
const d1 = advance(EMPTY_DERIVED, undefined, a, DEFAULT_THRESHOLDS, 60);
const d2 = advance(d1, a, b, DEFAULT_THRESHOLDS, 60);

test("formatTable pads columns to the widest cell and trims line ends", () => {
  const out = formatTable(
    [{ title: "ID", align: "right" }, { title: "STATUS", align: "left" }, { title: "NOTE", align: "left" }],
    [["0", "running", ""], ["12", "blocked", "watchdog"]],
  );
  assert.equal(out, "ID   STATUS    NOTE\n 0   running\n12   blocked   watchdog\n");
});

test("workers: an aligned table with every column, no colour, no truncation", () => {
  const out = renderSnapshot("workers", a, d1, { json: false, match: all });
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.length, 5);
  assert.match(lines[0] ?? "", /^ID {3}STATUS\s+P50\s+P99\s+MAX\s+BUSY\s+RQ\/s\s+CONN\s+TASK\s+Q m\/up\s+WD\s+GEN\s+DROP\s+RQ TOT$/);
  assert.match(lines[3] ?? "", /^ 2 {3}running\s+6\.2ms\s+83ms\s+143ms\s+71%\s+96\s+3\s+2\s+2\/3\s+0\s+0\s+0\s+38\.8k$/);
  assert.ok(!out.includes("\u001b"), "no colour");
  assert.doesNotMatch(out, /…|[▁-█]/, "no truncation, no charts");
  const starts = lines.slice(1).map((l) => l.indexOf("%"));
  assert.ok(starts.every((s) => s === starts[0]), "right-aligned columns line up");
});

test("workers --json keeps the admin API's shape and honours --filter", () => {
  const parsed = JSON.parse(renderSnapshot("workers", b, d2, { json: true, match: compileFilter("blocked") })) as {
    concurrency: number;
    workers: WorkerInfo[];
  };
  assert.equal(parsed.concurrency, 4);
  assert.deepEqual(parsed.workers.map((w) => w.id), [3]);
  assert.deepEqual(parsed.workers[0], b.workers[3]);
  const compact = renderSnapshot("workers", b, d2, { json: true, match: all, compact: true });
  assert.equal(compact.trimEnd().split("\n").length, 1, "one line per document with --watch");
});

test("connections: the affinity table and the imbalance line", () => {
  const out = renderSnapshot("connections", b, d2, { json: false, match: all });
  assert.match(out, /^ID\s+W\s+REMOTE\s+LISTENER\s+KIND\s+AGE\s+RQ\s+IN\s+OUT\s+IDLE\s+PEER$/m);
  assert.match(out, /20 connections shown; per worker: w0 11, w1 4, w2 3, w3 2; imbalance 2\.20× \(max 11, mean 5\.0\)/);
  const json = JSON.parse(renderSnapshot("connections", b, d2, { json: true, match: compileFilter("^3\\.\\d+$") }));
  assert.equal(json.total, 20);
  assert.deepEqual(json.connections.map((c: { id: string }) => c.id), ["3.8", "3.9"]);
});

test("tasks: tasks and queues tables; JSON as /tasks", () => {
  const out = renderSnapshot("tasks", b, d2, { json: false, match: all });
  const [tasks, queues] = out.split("\n\n");
  assert.match(tasks ?? "", /^3\.8#8\s+3\s+streaming\s+13s/m);
  assert.match(queues ?? "", /^W\s+QUEUE\s+DEPTH\s+OLDEST\s+TOTAL\s+DROPPED$/m);
  const json = JSON.parse(renderSnapshot("tasks", b, d2, { json: true, match: compileFilter("api_v2|upstream:api") }));
  assert.deepEqual(json.tasks.map((t: { id: string }) => t.id).sort(), ["1.41#5", "2.17#6", "2.18#7"]);
  assert.deepEqual(json.tasks[0], b.tasks.find((t) => t.id === json.tasks[0].id), "the wire shape, unchanged");
  assert.deepEqual(json.queues.map((q: { name: string }) => q.name), ["upstream:api", "upstream:api"]);
});

test("stats: sorted by name; rates once two snapshots were seen", () => {
  const once = renderSnapshot("stats", a, d1, { json: false, match: compileFilter("^cluster\\.api\\.upstream_rq") });
  assert.match(once, /^NAME\s+VALUE\s+P50\/P99\/MAX$/m);
  assert.match(once, /^cluster\.api\.upstream_rq_2xx\s+19200$/m);
  assert.match(once, /^cluster\.api\.upstream_rq_time\s+20100\s+21ms 610ms 2\.15s$/m);
  const twice = renderSnapshot("stats", b, d2, { json: false, match: compileFilter("rq_total"), rates: true });
  assert.match(twice, /^http\.ingress_http\.downstream_rq_total\s+220970\s+670$/m);
  const json = JSON.parse(renderSnapshot("stats", b, d2, { json: true, match: compileFilter("api\\.upstream_rq_(5xx|time)"), rates: true }));
  assert.deepEqual(json.stats, [{ name: "cluster.api.upstream_rq_5xx", value: 918, rate: 18 }]);
  assert.equal(json.histograms[0].name, "cluster.api.upstream_rq_time");
  assert.equal(json.histograms[0].p99, 610);
});

test("clusters: clusters and hosts; JSON as /clusters?format=json", () => {
  const out = renderSnapshot("clusters", b, d2, { json: false, match: all, rates: true });
  assert.match(out, /^api\s+STRICT_DNS\s+LEAST_REQUEST\s+2\/2\s+4\s+20\.3k\s+200\s+9\.0%\s+21ms\s+610ms$/m);
  assert.match(out, /^backend\s+10\.0\.1\.12:8080\s+\/failed_active_hc\s+1\s+0\s+12\s+9\s+100\s+0\s+36\s+5$/m);
  const json = JSON.parse(renderSnapshot("clusters", b, d2, { json: true, match: compileFilter("failed_active_hc") })) as {
    clusters: ClusterInfo[];
  };
  assert.deepEqual(json.clusters.map((c) => c.name), ["backend"], "a host's text selects its cluster");
});

test("config: leaves as PATH VALUE, pruned JSON, whole subtrees by path", () => {
  const dump = { configs: [{ "@type": "bootstrap", admin: { address: "127.0.0.1:9901" }, tags: [] }], version: 3 };
  assert.deepEqual(flattenJson(dump).map((l) => l.path), ["configs[0].@type", "configs[0].admin.address", "configs[0].tags", "version"]);
  assert.equal(
    renderConfig(dump, { json: false, match: compileFilter("admin") }),
    "PATH                       VALUE\nconfigs[0].admin.address   127.0.0.1:9901\n",
  );
  assert.deepEqual(JSON.parse(renderConfig(dump, { json: true, match: compileFilter("9901") })), {
    configs: [{ admin: { address: "127.0.0.1:9901" } }],
  });
  assert.deepEqual(pruneJson(dump, () => false, (p) => p === "configs[0].admin"), { configs: [{ admin: { address: "127.0.0.1:9901" } }] });
  assert.equal(pruneJson(dump, () => false, () => false), undefined);
});

function sink() {
  let out = "";
  let err = "";
  return { write: (t: string) => void (out += t), writeError: (t: string) => void (err += t), out: () => out, err: () => err };
}

test("runPrint prints one snapshot from /events and exits 0, sending the token", async () => {
  const admin = await startFakeAdmin({ first: a, token: "t0k" });
  try {
    const s = sink();
    const code = await runPrint({ kind: "workers", url: admin.url, token: "t0k", ...s });
    assert.equal(code, 0);
    assert.match(s.out(), /^ID\s+STATUS/);
    assert.equal(s.out().trimEnd().split("\n").length, 5);
    assert.equal(s.err(), "");
    assert.deepEqual(admin.authorizations, ["Bearer t0k"]);
  } finally {
    await admin.close();
  }
});

test("runPrint --watch reprints every flush until interrupted, with rates from the second", async () => {
  const admin = await startFakeAdmin({ first: a });
  try {
    const s = sink();
    const abort = new AbortController();
    const done = runPrint({ kind: "stats", url: admin.url, watch: true, filter: "downstream_rq_total", clear: false, signal: abort.signal, ...s });
    await waitFor(() => s.out().includes("221640") || s.out().includes("220300"), "the first table");
    admin.push(b);
    await waitFor(() => s.out().includes("670"), "the second table with a rate");
    abort.abort();
    assert.equal(await done, 0);
    const tables = s.out().split("\n\n");
    assert.equal(tables.length, 2);
    assert.match(tables[1] ?? "", /^NAME\s+VALUE\s+RATE\/s/);
  } finally {
    await admin.close();
  }
});

test("runPrint --watch --json prints one JSON document per line", async () => {
  const admin = await startFakeAdmin({ first: a });
  try {
    const s = sink();
    const abort = new AbortController();
    const done = runPrint({ kind: "clusters", url: admin.url, watch: true, json: true, signal: abort.signal, ...s });
    await waitFor(() => s.out().split("\n").length >= 2, "the first document");
    admin.push(later(b, 1));
    await waitFor(() => s.out().split("\n").length >= 3, "the second document");
    abort.abort();
    assert.equal(await done, 0);
    const docs = s.out().trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(docs.map((d) => d.clusters.length), [2, 2]);
  } finally {
    await admin.close();
  }
});

test("runPrint config reads /config_dump", async () => {
  const admin = await startFakeAdmin({ first: a, configDump: { configs: [{ "@type": "listeners", listeners: [{ name: "ingress_http" }] }] } });
  try {
    const s = sink();
    assert.equal(await runPrint({ kind: "config", url: admin.url, json: true, ...s }), 0);
    assert.deepEqual(JSON.parse(s.out()), { configs: [{ "@type": "listeners", listeners: [{ name: "ingress_http" }] }] });
  } finally {
    await admin.close();
  }
});

test("runPrint fails with 1 when the instance is unreachable and 2 on a bad --filter", async () => {
  const admin = await startFakeAdmin();
  const url = admin.url;
  await admin.close();
  const s = sink();
  assert.equal(await runPrint({ kind: "workers", url, ...s }), 1);
  assert.match(s.err(), new RegExp(`Cannot read snapshots from ${url}/events: connection refused`));
  const t = sink();
  assert.equal(await runPrint({ kind: "workers", url, filter: "(", ...t }), 2);
  assert.match(t.err(), /Cannot parse --filter "\("/);
});

test("runPrint --replay prints a recording's last frame, or every frame with --watch", async () => {
  const path = fixturePath("session.jsonl");
  const once = sink();
  assert.equal(await runPrint({ kind: "workers", url: "http://unused", replay: path, json: true, ...once }), 0);
  const last = JSON.parse(once.out());
  assert.equal(last.workers[3].status, "blocked");
  const all = sink();
  assert.equal(await runPrint({ kind: "stats", url: "http://unused", replay: path, watch: true, json: true, filter: "^http.*rq_total$", ...all }), 0);
  const docs = all.out().trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(docs.length, 12);
  assert.deepEqual(docs[0].stats[0], { name: "http.ingress_http.downstream_rq_total", value: 220300 });
  assert.deepEqual(docs[11].stats[0], { name: "http.ingress_http.downstream_rq_total", value: 220300 + 11 * 670, rate: 670 });
  const config = sink();
  assert.equal(await runPrint({ kind: "config", url: "http://unused", replay: path, ...config }), 2);
});
