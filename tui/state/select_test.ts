import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtures } from "../testing.ts";
import { advance, EMPTY_DERIVED } from "./derive.ts";
import { compileFilter, fitColumns, parseFilterFlag, prepareTable, tableFromSnapshot } from "./select.ts";
import { TABLES } from "./tables.ts";
import { DEFAULT_THRESHOLDS } from "./types.ts";

const ids = (width: number, table: keyof typeof TABLES) => fitColumns(TABLES[table].columns, width).map((f) => f.column.id);

test("workers at 80 columns keep lag p50/p99/max, the sparkline, busy, rq/s, connections, tasks, queues, watchdog", () => {
  assert.deepEqual(ids(79, "workers"), ["id", "status", "p50", "p99", "max", "lag", "busy", "rps", "conns", "tasks", "queue", "wd"]);
  assert.deepEqual(ids(60, "workers"), ["id", "p99", "lag", "busy", "rps", "conns", "tasks", "queue", "wd"], "narrower: max, p50, status go");
  const lagAt = (w: number) => fitColumns(TABLES.workers.columns, w).find((f) => f.column.id === "lag")?.width ?? 0;
  assert.ok(lagAt(79) === 6 && lagAt(100) > 10, "the sparkline shrinks to fit and grows with room");
  const wide = ids(140, "workers");
  assert.ok(wide.includes("max") && wide.includes("gen") && wide.includes("totalRequests"));
  const fitted = fitColumns(TABLES.workers.columns, 79);
  const used = fitted.reduce((n, f) => n + f.width, 0) + fitted.length - 1;
  assert.equal(used, 79, "the sparkline takes what is left");
});

test("narrow terminals drop optional columns first, then shrink, then drop the rest", () => {
  assert.deepEqual(ids(79, "stats"), ["name", "value", "rate", "changes"]);
  assert.deepEqual(ids(79, "connections"), ["id", "worker", "remote", "age", "requests", "bytesIn", "bytesOut", "idle"]);
  const shrunk = fitColumns(TABLES.connections.columns, 50);
  assert.ok(shrunk.reduce((n, f) => n + f.width, 0) + shrunk.length - 1 <= 50);
  assert.ok(shrunk.some((f) => f.column.id === "remote"));
  for (const width of [20, 40, 60, 80, 100, 200]) {
    for (const table of Object.keys(TABLES) as (keyof typeof TABLES)[]) {
      const f = fitColumns(TABLES[table].columns, width);
      const minimum = f.reduce((n, c) => n + (c.column.min ?? c.column.width), 0) + f.length - 1;
      assert.ok(f.reduce((n, c) => n + c.width, 0) + f.length - 1 <= Math.max(width, minimum), `${table} at ${width}`);
    }
  }
});

test("filters: regex with smart case, literal fallback, strict on the command line", () => {
  assert.equal(compileFilter("upstream_rq_5")("cluster.api.upstream_rq_5xx"), true);
  assert.equal(compileFilter("UPSTREAM")("cluster.api.upstream_rq_5xx"), false);
  assert.equal(compileFilter("^cluster\\.api")("cluster.api.x"), true);
  assert.equal(compileFilter("rq_(")("a rq_( b"), true, "an unfinished expression matches literally while typing");
  assert.throws(() => parseFilterFlag("rq_("), /Cannot parse --filter "rq_\("/);
});

test("prepared rows: filtered on every column's text, sorted, ties by key", () => {
  const [a, b] = fixtures();
  const derived = advance(advance(EMPTY_DERIVED, undefined, a, DEFAULT_THRESHOLDS, 60), a, b, DEFAULT_THRESHOLDS, 60);
  const conns = tableFromSnapshot("connections", b, derived, { sortColumn: "worker", descending: false, filter: "" });
  assert.equal(conns.rows.length, 20);
  assert.deepEqual(conns.keys.slice(0, 3), ["0.101", "0.102", "0.103"], "numeric id order inside a worker");
  const https = tableFromSnapshot("connections", b, derived, { sortColumn: "worker", descending: true, filter: "ingress_https" });
  assert.deepEqual(https.keys, ["1.43", "0.104", "0.108"], "worker descending, ties by id");
  assert.equal(https.total, 20);
  const stats = prepareTable("stats", { snapshot: b, derived, screen: { kind: "list", view: "stats" } }, {
    sortColumn: "rate",
    descending: true,
    filter: "^http\\.ingress_http\\.downstream_rq_",
  });
  assert.equal(stats.keys[0], "http.ingress_http.downstream_rq_time");
  assert.equal(stats.keys[1], "http.ingress_http.downstream_rq_total");
  const anchored = tableFromSnapshot("stats", b, derived, { sortColumn: "name", descending: false, filter: "rq_5xx$" });
  assert.deepEqual(anchored.keys, ["cluster.api.upstream_rq_5xx", "cluster.backend.upstream_rq_5xx", "http.ingress_http.downstream_rq_5xx"], "anchors apply to a cell");
});
