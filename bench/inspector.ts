/**
 * A stand-in for an attached `weft inspect` TUI: holds `GET /events` (server-sent events) open on
 * weft's admin endpoint and reads and decodes every snapshot, as the TUI does at the flush rate.
 *
 * @module
 */

export interface InspectorStats {
  snapshots: number;
  bytes: number;
  /** Largest single snapshot payload, bytes. */
  maxSnapshotBytes: number;
  /** Snapshots weft reported dropped for this subscriber (the last `dropped` field seen). */
  dropped: number;
  /** Set if the stream failed or ended early. */
  error: string | null;
  /** How long it was attached, ms. */
  attachedMs: number;
}

export interface Inspector {
  /** Resolves once the first snapshot arrived. */
  ready: Promise<void>;
  stats(): InspectorStats;
  /** Detach; resolves with the totals. */
  close(): Promise<InspectorStats>;
}

export function attachInspector(adminUrl: string, timeoutMs = 10_000): Inspector {
  const ac = new AbortController();
  const s: InspectorStats = { snapshots: 0, bytes: 0, maxSnapshotBytes: 0, dropped: 0, error: null, attachedMs: 0 };
  const t0 = Date.now();
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const readyTimer = setTimeout(() => rejectReady(new Error(`no snapshot from ${adminUrl}/events within ${timeoutMs} ms`)), timeoutMs);
  const done = (async () => {
    try {
      const res = await fetch(`${adminUrl}/events`, { signal: ac.signal, headers: { accept: "text/event-stream" } });
      if (!res.ok || !res.body) throw new Error(`/events answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        s.bytes += value.length;
        buf += value;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = "message";
          let data = "";
          for (const line of event.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(5).trimStart();
          }
          if (type !== "snapshot" || !data) continue;
          const snap = JSON.parse(data) as { dropped?: number };
          s.snapshots++;
          s.maxSnapshotBytes = Math.max(s.maxSnapshotBytes, data.length);
          s.dropped = snap.dropped ?? s.dropped;
          if (s.snapshots === 1) {
            clearTimeout(readyTimer);
            resolveReady();
          }
        }
      }
      if (!ac.signal.aborted) s.error = "the event stream ended";
    } catch (e) {
      if (!ac.signal.aborted) s.error = e instanceof Error ? e.message : String(e);
    }
    clearTimeout(readyTimer);
    if (s.snapshots === 0) rejectReady(new Error(s.error ?? "no snapshot"));
  })();
  return {
    ready,
    stats: () => ({ ...s, attachedMs: Date.now() - t0 }),
    async close() {
      ac.abort();
      await done;
      return { ...s, attachedMs: Date.now() - t0 };
    },
  };
}
