import { test } from "node:test";
import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { computeLayout } from "../state/layout.ts";
import { tableOf } from "../state/select.ts";
import type { State, TableId } from "../state/types.ts";
import { fixtures, frameOf, stateFrom } from "../testing.ts";
import { Bar } from "./Bar.tsx";
import { ClusterDetail, ClustersView } from "./ClustersView.tsx";
import { ConnectionsView } from "./ConnectionsView.tsx";
import { Header, ViewTabs } from "./Header.tsx";
import { Help } from "./Help.tsx";
import { Sparkline } from "./Sparkline.tsx";
import { StatsView } from "./StatsView.tsx";
import { TasksView } from "./TasksView.tsx";
import { WarningsPanel } from "./WarningsPanel.tsx";
import { histogramLines, WorkerDetail } from "./WorkerDetail.tsx";
import { WorkersView } from "./WorkersView.tsx";

function draw(node: Parameters<typeof render>[0]): string[] {
  const r = render(node);
  const lines = frameOf(r).split("\n");
  r.unmount();
  return lines;
}

const table = (s: State, id: TableId) => tableOf(s, id)!;

test("WorkersView: one row per worker with lag, sparkline, busy bar, rq/s, connections, tasks, queues, watchdog", () => {
  const s = stateFrom();
  const lines = draw(
    <WorkersView table={table(s, "workers")} view={s.tables.workers} height={6} width={80} thresholds={s.thresholds} />,
  );
  assert.match(lines[0] ?? "", /ID▲ STATUS\s+P50\s+P99\s+MAX LAG\s+BUSY\s+RQ\/s\s+CONN\s+TASK Q m\/up\s+WD/);
  assert.match(lines[1] ?? "", /^›\s+0 running\s+0\.40ms\s+1\.8ms\s+4\.2ms [▁-█ ]{6} █+.?\s+43%\s+413\s+11\s+4\s+0\/1\s+0$/);
  assert.match(lines[3] ?? "", /^\s+2 running\s+6\.2ms\s+86ms\s+143ms .* 71%\s+96\s+3\s+2\s+2\/4\s+0$/);
  assert.match(lines[4] ?? "", /^\s+3 blocked\s+0\.50ms\s+3\.0ms\s+1\.25s .* 97%\s+12\s+2\s+1\s+5\/0\s+3$/);
  assert.equal(lines.length, 7, "column titles + the height asked for");
  assert.ok(lines.every((l) => l.length <= 80), "fits 80 columns");
});

test("WorkersView uses more room when there is more", () => {
  const s = stateFrom(undefined, { columns: 140 });
  const [head] = draw(
    <WorkersView table={table(s, "workers")} view={s.tables.workers} height={4} width={140} thresholds={s.thresholds} />,
  );
  assert.match(head ?? "", /MAX LAG .* GEN\s+DROP\s+RQ TOT/);
});

test("ConnectionsView: share bars per worker, the imbalance figure, the affinity table", () => {
  const s = stateFrom(undefined, {}, { type: "view", view: "connections" });
  const layout = computeLayout(s);
  const lines = draw(
    <ConnectionsView
      workers={s.snapshot!.workers}
      imbalance={s.derived.imbalance}
      connectionsTotal={20}
      table={table(s, "connections")}
      view={s.tables.connections}
      sharesLines={layout.shares.lines}
      perLine={layout.shares.perLine}
      height={layout.panes.connections ?? 1}
      width={80}
      thresholds={s.thresholds}
    />,
  );
  const text = lines.join("\n");
  assert.match(lines[0] ?? "", /imbalance 2\.20× \(max 11 on worker 0, mean 5\.0, 20 open\)/);
  assert.match(text, /w0 █+.*11\s+55%/);
  assert.match(text, /w3 █+.*2\s+10%/);
  assert.match(text, /ID\s+W▲ REMOTE\s+AGE\s+RQ\s+IN\s+OUT\s+IDLE/);
  assert.match(text, /›0\.101\s+0 10\.0\.3\.21:\d+/);
});

test("TasksView: tasks longest-in-state first, queues deepest first, the focused pane marked", () => {
  const s = stateFrom(undefined, {}, { type: "view", view: "tasks" });
  const layout = computeLayout(s);
  const text = draw(
    <TasksView
      tasks={table(s, "tasks")}
      tasksView={s.tables.tasks}
      tasksHeight={layout.panes.tasks ?? 1}
      tasksTotal={8}
      queues={table(s, "queues")}
      queuesView={s.tables.queues}
      queuesHeight={layout.panes.queues ?? 1}
      pane={1}
      width={80}
      thresholds={s.thresholds}
    />,
  ).join("\n");
  assert.match(text, /^ {2}Tasks in flight \[8\]/m);
  assert.match(text, /IN STATE▼/);
  assert.match(text, / 3\.8#8\s+3 streaming\s+13s default\s+backend/);
  assert.match(text, /^▸ Queues/m);
  assert.match(text, /›\s+3 main→worker\s+5\s+1\.18s/);
  assert.match(text, /2 upstream:api\s+4\s+212ms/);
});

test("StatsView: value, rate and change count; the filter narrows rows", () => {
  const s = stateFrom(undefined, {}, { type: "view", view: "stats" }, { type: "filter-start" }, {
    type: "filter-input",
    text: "downstream_rq_(total|5xx)",
  });
  const text = draw(
    <StatsView table={table(s, "stats")} view={s.tables.stats} height={5} width={80} thresholds={s.thresholds} />,
  ).join("\n");
  assert.match(text, /NAME\s+VALUE\s+RATE\/s\s+CHG▼/);
  assert.match(text, /http\.ingress_http\.downstream_rq_total\s+220970\s+670\s+1/);
  assert.match(text, /http\.ingress_http\.downstream_rq_5xx\s+1054\s+19\s+1/);
  assert.equal(table(s, "stats").rows.length, 2);
});

test("ClustersView and ClusterDetail: health, requests, 5xx share, latency, hosts", () => {
  const s = stateFrom(undefined, {}, { type: "view", view: "clusters" });
  const text = draw(
    <ClustersView table={table(s, "clusters")} view={s.tables.clusters} height={3} width={80} thresholds={s.thresholds} />,
  ).join("\n");
  assert.match(text, /CLUSTER▲\s+HEALTHY\s+CX\s+RQ\s+RQ\/s\s+5XX\s+P50\s+P99/);
  assert.match(text, /›api\s+2\/2\s+4\s+20\.3k\s+200\s+9\.0%\s+21ms\s+610ms/);
  assert.match(text, /backend\s+2\/3\s+9\s+301\.6k\s+600\s+0\.2%\s+3\.2ms\s+42ms/);
  const d = stateFrom(undefined, {}, { type: "view", view: "clusters" }, { type: "move", delta: 1 }, { type: "enter" });
  const backend = d.snapshot!.clusters[0]!;
  const detail = draw(
    <ClusterDetail
      cluster={backend}
      name="backend"
      errorRate={0.0017}
      hosts={table(d, "clusterHosts")}
      view={d.tables.clusterHosts}
      height={4}
      width={80}
      thresholds={d.thresholds}
    />,
  ).join("\n");
  assert.match(detail, /cluster backend · STATIC · ROUND_ROBIN · 301\.6k rq · 5xx 0\.2%/);
  assert.match(detail, /10\.0\.1\.12:8080\s+\/failed_active_hc\s+0\s+100\s+0\s+36/);
});

test("WorkerDetail: figures, lag histogram, its connections and tasks", () => {
  const s = stateFrom(undefined, {}, { type: "move", delta: 2 }, { type: "enter" });
  const layout = computeLayout(s);
  const w = s.snapshot!.workers[2]!;
  const text = draw(
    <WorkerDetail
      id={2}
      worker={w}
      samples={s.derived.workers[2] ?? []}
      connections={table(s, "workerConnections")}
      connectionsView={s.tables.workerConnections}
      connectionsHeight={layout.panes.workerConnections ?? 1}
      tasks={table(s, "workerTasks")}
      tasksView={s.tables.workerTasks}
      tasksHeight={layout.panes.workerTasks ?? 1}
      pane={0}
      histogramHeight={1}
      width={80}
      thresholds={s.thresholds}
    />,
  ).join("\n");
  assert.match(text, /worker 2 · running · lag p50 6\.2ms p99 86ms max 143ms · busy 71% · 96 rq\/s/);
  assert.match(text, /≤1\.0ms:410 ≤2\.0ms:220 ≤5\.0ms:96 ≤10ms:41 ≤20ms:22 ≤50ms:9 ≤100ms:4 >100ms:2/);
  assert.match(text, /▸ Connections \[3\]/);
  assert.match(text, / {2}Tasks \[2\]/);
  assert.match(text, /2\.17#6\s+2 waiting_response/);
  assert.match(
    draw(<WorkerDetail {...{ id: 9, worker: undefined, samples: [], connections: table(s, "workerConnections"), connectionsView: s.tables.workerConnections, connectionsHeight: 1, tasks: table(s, "workerTasks"), tasksView: s.tables.workerTasks, tasksHeight: 1, pane: 0, histogramHeight: 1, width: 80, thresholds: s.thresholds }} />).join("\n"),
    /worker 9 is not in the latest snapshot/,
  );
});

test("histogramLines scales bars to the fullest bucket", () => {
  const h = histogramLines([4, 8, 0], [1, 5], 2, 80);
  assert.equal(h.labels, "≤1.0ms:4 ≤5.0ms:8 >5.0ms:0");
  assert.equal(h.bars.length, 2);
  assert.match(h.bars[0] ?? "", /^ +█+ +$/);
  assert.match(h.bars[1] ?? "", /^█+ █+ +$/);
});

test("WarningsPanel: errors first, a count when there are more than fit, or all clear", () => {
  const s = stateFrom();
  const lines = draw(<WarningsPanel warnings={s.derived.warnings} shown={2} width={80} />);
  assert.deepEqual(lines.map((l) => l.slice(0, 30).trimEnd()), [
    "⚠ Warnings (4)",
    "  ✖ worker 3 is blocked, 1× in",
    "  ⚠ worker 2 loop lag p99 86ms",
    "  … 2 more",
  ]);
  assert.deepEqual(draw(<WarningsPanel warnings={[]} shown={3} width={80} />), ["✓ no warnings"]);
});

test("Header: instance, connection state with reconnect countdown, dropped, paused, warnings", () => {
  const [a] = fixtures();
  const reconnecting = draw(
    <Header
      snapshot={{ ...a, dropped: 2 }}
      conn={{ kind: "reconnecting", url: "http://x", attempt: 3, delayMs: 2000, retryAt: 10_000, error: "connection refused" }}
      source="http://127.0.0.1:9901"
      dropped={2}
      paused
      held={3}
      warnings={4}
      errors={1}
      now={7_400}
    />,
  );
  assert.match(reconnecting[0] ?? "", /^weft proxy 0\.1\.0 · LIVE · up 1h02m · 4 workers · http:\/\/127\.0\.0\.1:9901/);
  assert.match(reconnecting[1] ?? "", /○ reconnecting in 3 s \(connection refused\)\s+seq 41\s+dropped 2\s+PAUSED \(\+3\)\s+⚠ 4 warnings/);
  const connected = draw(
    <Header snapshot={undefined} conn={{ kind: "connected", url: "u", since: 0 }} source="u" dropped={0} paused={false} held={0} warnings={0} errors={0} now={0} />,
  );
  assert.match(connected[0] ?? "", /waiting for the first snapshot/);
  assert.match(connected[1] ?? "", /● connected\s+dropped 0\s+0 warnings/);
  const replay = draw(
    <Header snapshot={a} conn={{ kind: "replay", file: "s.jsonl", index: 11, total: 12, playing: false }} source="s.jsonl" dropped={0} paused={false} held={0} warnings={0} errors={0} now={0} />,
  );
  assert.match(replay[1] ?? "", /⏸ replay 12\/12 \(end\).*PAUSED/);
  assert.match(draw(<ViewTabs screen={{ kind: "worker", worker: 2, from: "workers" }} />)[0] ?? "", /1 Workers .* 5 Clusters\s+› worker 2/);
});

test("Help lists the keys and the thresholds", () => {
  const s = stateFrom();
  const text = draw(<Help height={20} width={160} thresholds={s.thresholds} />).join("\n");
  assert.match(text, /1 2 3 4 5\s+workers, connections, tasks, stats, clusters/);
  assert.match(text, /Warnings: lag p99 > 50ms · watchdog miss · imbalance > 2× \(≥ 8 conns\)/);
});

test("Sparkline and Bar draw their characters", () => {
  assert.deepEqual(draw(<Sparkline values={[1, 2, 4, 8]} width={4} />), ["▁▂▄█"]);
  assert.deepEqual(draw(<Bar fraction={0.5} width={4} label />), ["██    50%"]);
});
