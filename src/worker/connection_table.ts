/**
 * The exact table of downstream connections a worker owns: a row is added by the socket's open event
 * and removed by its close event, never inferred from requests. Flushes to main as deltas (rows that
 * changed, ids that closed), so 10,000 idle connections cost nothing per flush.
 *
 * @example
 * ```ts
 * const t = new ConnectionTable(0);
 * const c = t.open("127.0.0.1", 50000, "main", "http");
 * c.bytesIn += 100; t.touch(c);
 * t.close(c);
 * t.takeDelta(); // { changed: [], closed: [] } (opened and closed inside one flush)
 * ```
 * @module
 */
import type { ConnectionInfo } from "../admin/wire.ts";

/**
 * A live row: the wire row without its derived ages (computed at report time). `peer` is "" until
 * known; `dirty` marks the row for the next flush; `announced` once main has seen it.
 */
export interface ConnectionRecord extends Omit<ConnectionInfo, "ageMs" | "idleMs" | "peer"> {
  peer: string;
  dirty: boolean;
  announced: boolean;
}

export interface ConnectionDelta {
  changed: ConnectionInfo[];
  closed: string[];
}

export class ConnectionTable {
  private rows = new Map<string, ConnectionRecord>();
  private dirtyRows: ConnectionRecord[] = [];
  private closedIds: string[] = [];
  private nextId = 1;
  /** Connections ever opened on this worker. */
  total = 0;

  constructor(readonly worker: number) {}

  get size(): number {
    return this.rows.size;
  }

  open(remoteAddress: string, remotePort: number, listener: string, kind: string): ConnectionRecord {
    const now = Date.now();
    const row: ConnectionRecord = {
      id: `${this.worker}.${this.nextId++}`,
      worker: this.worker,
      remoteAddress,
      remotePort,
      listener,
      openedAt: now,
      requests: 0,
      bytesIn: 0,
      bytesOut: 0,
      lastActivityAt: now,
      kind,
      peer: "",
      dirty: true,
      announced: false,
    };
    this.rows.set(row.id, row);
    this.dirtyRows.push(row);
    this.total++;
    return row;
  }

  /** Mark a row changed (call after updating its counters). */
  touch(row: ConnectionRecord): void {
    if (!row.dirty) {
      row.dirty = true;
      this.dirtyRows.push(row);
    }
  }

  close(row: ConnectionRecord): void {
    if (!this.rows.delete(row.id)) return;
    if (row.announced) this.closedIds.push(row.id);
  }

  rowsList(): IterableIterator<ConnectionRecord> {
    return this.rows.values();
  }

  takeDelta(now = Date.now()): ConnectionDelta {
    const changed: ConnectionInfo[] = [];
    for (const row of this.dirtyRows) {
      row.dirty = false;
      if (!this.rows.has(row.id)) continue;
      row.announced = true;
      changed.push(toInfo(row, now));
    }
    this.dirtyRows = [];
    const closed = this.closedIds;
    this.closedIds = [];
    return { changed, closed };
  }
}

export function toInfo(row: ConnectionRecord, now: number): ConnectionInfo {
  const info: ConnectionInfo = {
    id: row.id,
    worker: row.worker,
    remoteAddress: row.remoteAddress,
    remotePort: row.remotePort,
    listener: row.listener,
    openedAt: row.openedAt,
    ageMs: now - row.openedAt,
    requests: row.requests,
    bytesIn: row.bytesIn,
    bytesOut: row.bytesOut,
    lastActivityAt: row.lastActivityAt,
    idleMs: now - row.lastActivityAt,
    kind: row.kind,
  };
  if (row.peer) info.peer = row.peer;
  return info;
}
