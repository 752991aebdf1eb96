/**
 * What each non-interactive subcommand prints for a snapshot: an aligned table (several for tasks
 * and clusters) or JSON in the admin API's own shapes. Pure; the runner does the I/O.
 *
 * @module
 */

import type { ClusterHostInfo, ClusterInfo, Snapshot } from "../../src/admin/wire.ts";
import type { Column } from "../state/tables.ts";
import { TABLES } from "../state/tables.ts";
import type { PreparedTable } from "../state/select.ts";
import { prepareTable, rowMatches } from "../state/select.ts";
import type { Derived, TableId } from "../state/types.ts";
import { formatCount, formatMs } from "../format.ts";
import { formatTable } from "./table.ts";

/** The data subcommands (config is fetched separately). */
export const PRINT_KINDS = ["workers", "connections", "tasks", "stats", "clusters"] as const;
export type PrintKind = typeof PRINT_KINDS[number];

/** Options of {@link renderSnapshot}. */
export interface RenderOptions {
  readonly json: boolean;
  /** Row filter (already compiled from --filter). */
  readonly match: (text: string) => boolean;
  /** JSON on one line (watch mode prints one document per flush, NDJSON). */
  readonly compact?: boolean;
  /** Whether rates are meaningful (a previous snapshot was seen). */
  readonly rates?: boolean;
}

const SORT_FOR_PRINT: Partial<Record<TableId, { column: string; descending: boolean }>> = {
  stats: { column: "name", descending: false },
};

function prepared(id: TableId, snapshot: Snapshot, derived: Derived, match: (t: string) => boolean): PreparedTable {
  const def = TABLES[id];
  const sort = SORT_FOR_PRINT[id] ?? def.defaultSort;
  return prepareTable(
    id,
    { snapshot, derived, screen: { kind: "list", view: "workers" } },
    { sortColumn: sort.column, descending: sort.descending, filter: "" },
    match,
  );
}

function tableText(table: PreparedTable, omit: readonly string[] = []): string {
  const cols = table.columns.filter((c) => !c.tuiOnly && !omit.includes(c.id));
  return formatTable(
    cols.map((c) => ({ title: c.title, align: c.align })),
    table.rows.map((r) => cols.map((c) => c.text(r))),
  );
}

/** A cluster's host, flattened for the hosts table. */
interface HostRow {
  readonly cluster: string;
  readonly h: ClusterHostInfo;
}

const HOST_COLUMNS: readonly Column<HostRow>[] = [
  { id: "cluster", title: "CLUSTER", align: "left", width: 0, drop: 0, text: (r) => r.cluster, sort: (r) => r.cluster },
  ...(TABLES.clusterHosts.columns as readonly Column<ClusterHostInfo>[]).map((c): Column<HostRow> => ({
    ...c,
    text: (r) => c.text(r.h),
    sort: (r) => c.sort(r.h),
    color: undefined,
  })),
];

function json(value: unknown, compact: boolean | undefined): string {
  return (compact ? JSON.stringify(value) : JSON.stringify(value, null, 2)) + "\n";
}

/**
 * Renders one snapshot for a subcommand.
 *
 * @example Workers as a table
 * ```ts
 * renderSnapshot("workers", snapshot, derived, { json: false, match: () => true });
 * ```
 */
export function renderSnapshot(kind: PrintKind, snapshot: Snapshot, derived: Derived, options: RenderOptions): string {
  const { match } = options;
  switch (kind) {
    case "workers": {
      const t = prepared("workers", snapshot, derived, match);
      if (options.json) {
        const ids = new Set(t.keys);
        return json(
          { concurrency: snapshot.server.concurrency, workers: snapshot.workers.filter((w) => ids.has(String(w.id))) },
          options.compact,
        );
      }
      return tableText(t);
    }
    case "connections": {
      const t = prepared("connections", snapshot, derived, match);
      if (options.json) {
        return json({ total: snapshot.connectionsTotal, connections: t.rows }, options.compact);
      }
      const im = derived.imbalance;
      const listed = snapshot.connectionsTotal > t.total ? ` (listing ${t.total} of ${snapshot.connectionsTotal})` : "";
      const shares = snapshot.workers.map((w) => `w${w.id} ${w.openConnections}`).join(", ");
      return tableText(t) +
        `\n${t.rows.length} connections shown${listed}; per worker: ${shares}; imbalance ${
          im.total > 0 ? `${im.ratio.toFixed(2)}× (max ${im.max}, mean ${im.mean.toFixed(1)})` : "-"
        }\n`;
    }
    case "tasks": {
      const tasks = prepared("tasks", snapshot, derived, match);
      const queues = prepared("queues", snapshot, derived, match);
      if (options.json) {
        return json({ tasks: tasks.rows, queues: queues.rows.map((r) => (r as { q: unknown }).q) }, options.compact);
      }
      return `${tableText(tasks)}\n${tableText(queues)}`;
    }
    case "stats": {
      const t = prepared("stats", snapshot, derived, match);
      const rows = t.rows as readonly { name: string; value: number; rate: number | undefined; histogram?: unknown }[];
      if (options.json) {
        return json({
          stats: rows.filter((r) => !r.histogram).map((r) =>
            options.rates && r.rate !== undefined ? { name: r.name, value: r.value, rate: r.rate } : { name: r.name, value: r.value }
          ),
          histograms: rows.filter((r) => r.histogram).map((r) => ({ name: r.name, ...(r.histogram as object) })),
        }, options.compact);
      }
      return tableText(t, options.rates ? ["changes"] : ["changes", "rate"]);
    }
    case "clusters": {
      const t = prepared("clusters", snapshot, derived, match);
      const hosts: HostRow[] = snapshot.clusters
        .flatMap((c: ClusterInfo) => c.hosts.map((h) => ({ cluster: c.name, h })))
        .filter((r) => rowMatches(HOST_COLUMNS, r, match));
      if (options.json) {
        const names = new Set([...t.keys, ...hosts.map((h) => h.cluster)]);
        return json({ clusters: snapshot.clusters.filter((c) => names.has(c.name)) }, options.compact);
      }
      const hostText = formatTable(
        HOST_COLUMNS.map((c) => ({ title: c.title, align: c.align })),
        hosts.map((r) => HOST_COLUMNS.map((c) => c.text(r))),
      );
      return `${tableText(t, options.rates ? [] : ["rps"])}\n${hostText}`;
    }
  }
}

/** A leaf of a JSON document: its path ("a.b[0].c") and value. */
export interface JsonLeaf {
  readonly path: string;
  readonly value: unknown;
}

/** Flattens JSON into leaves, in document order. */
export function flattenJson(value: unknown, path = ""): JsonLeaf[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [{ path, value }];
    return value.flatMap((v, i) => flattenJson(v, `${path}[${i}]`));
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [{ path, value }];
    return entries.flatMap(([k, v]) => flattenJson(v, path ? `${path}.${k}` : k));
  }
  return [{ path, value }];
}

/**
 * Keeps the leaves for which `keep(path, value)` holds, with their ancestors; an object or array
 * whose own path matches (`keepPath`) is kept whole.
 */
export function pruneJson(
  value: unknown,
  keep: (path: string, value: unknown) => boolean,
  keepPath: (path: string) => boolean,
  path = "",
): unknown {
  const container = typeof value === "object" && value !== null;
  if (container && path !== "" && keepPath(path)) return value;
  if (Array.isArray(value)) {
    if (value.length === 0) return keep(path, value) ? value : undefined;
    const out = value.map((v, i) => pruneJson(v, keep, keepPath, `${path}[${i}]`)).filter((v) => v !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (container) {
    const entries = Object.entries(value);
    if (entries.length === 0) return keep(path, value) ? value : undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const kept = pruneJson(v, keep, keepPath, path ? `${path}.${k}` : k);
      if (kept !== undefined) out[k] = kept;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return keep(path, value) ? value : undefined;
}

function leafText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Renders `/config_dump`: as JSON (pruned to matching leaves), or as an aligned PATH / VALUE table of
 * its leaves. The filter matches "path value".
 */
export function renderConfig(config: unknown, options: RenderOptions): string {
  const keep = (path: string, value: unknown) => options.match(`${path} ${leafText(value)}`);
  if (options.json) return json(pruneJson(config, keep, (p) => options.match(p)) ?? {}, options.compact);
  const leaves = flattenJson(config).filter((l) => keep(l.path, l.value));
  return formatTable(
    [{ title: "PATH", align: "left" }, { title: "VALUE", align: "left" }],
    leaves.map((l) => [l.path || ".", leafText(l.value)]),
  );
}

/** One line heading each reprint in --watch mode on a terminal. */
export function watchHeading(snapshot: Snapshot): string {
  return `seq ${snapshot.seq} · ${new Date(snapshot.at).toISOString()} · ${snapshot.server.mode} ${snapshot.server.version} · ${
    formatCount(snapshot.workers.length)
  } workers · flush ${formatMs(snapshot.server.flushIntervalMs)}\n\n`;
}
