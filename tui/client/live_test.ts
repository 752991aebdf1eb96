import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtures, later, startFakeAdmin, waitFor } from "../testing.ts";
import { liveSource } from "./live.ts";
import type { ConnState, SourceEvent } from "./source.ts";

const FAST = { initialMs: 50, maxMs: 200, factor: 2 };

function collect() {
  const events: SourceEvent[] = [];
  const conns = () => events.flatMap((e) => (e.type === "conn" ? [e.conn] : []));
  const seqs = () => events.flatMap((e) => (e.type === "snapshot" ? [e.snapshot.seq] : []));
  const lastConn = (): ConnState | undefined => conns().at(-1);
  return { events, conns, seqs, lastConn, listener: (e: SourceEvent) => void events.push(e) };
}

test("receives the first snapshot at once and each pushed one, sending the bearer token", async () => {
  const [a, b] = fixtures();
  const admin = await startFakeAdmin({ first: a, token: "s3cret" });
  const source = liveSource({ url: admin.url, token: "s3cret", backoff: FAST });
  const c = collect();
  source.subscribe(c.listener);
  try {
    await waitFor(() => c.seqs().length === 1, "the first snapshot");
    assert.equal(c.lastConn()?.kind, "connected");
    admin.push(b);
    await waitFor(() => c.seqs().length === 2, "the pushed snapshot");
    assert.deepEqual(c.seqs(), [a.seq, b.seq]);
    assert.deepEqual(admin.authorizations, ["Bearer s3cret"]);
    admin.pushRaw(": keep-alive\n\nevent: other\ndata: {}\n\n");
    admin.push(later(b, 1));
    await waitFor(() => c.seqs().length === 3, "a snapshot after a comment and an unknown event");
  } finally {
    await source.close();
    await admin.close();
  }
});

test("a late subscriber is handed the current state and latest snapshot", async () => {
  const [a] = fixtures();
  const admin = await startFakeAdmin({ first: a });
  const source = liveSource({ url: admin.url, backoff: FAST });
  const first = collect();
  source.subscribe(first.listener);
  try {
    await waitFor(() => first.seqs().length === 1, "the first snapshot");
    const second = collect();
    source.subscribe(second.listener);
    assert.deepEqual(second.events.map((e) => e.type), ["conn", "snapshot"]);
    assert.equal(second.lastConn()?.kind, "connected");
  } finally {
    await source.close();
    await admin.close();
  }
});

test("a wrong token reports HTTP 401 and keeps retrying with growing delays", async () => {
  const [a] = fixtures();
  const admin = await startFakeAdmin({ first: a, token: "right" });
  const source = liveSource({ url: admin.url, token: "wrong", backoff: FAST });
  const c = collect();
  source.subscribe(c.listener);
  try {
    await waitFor(() => c.conns().filter((s) => s.kind === "reconnecting").length >= 3, "three failed attempts");
    const retries = c.conns().filter((s): s is Extract<ConnState, { kind: "reconnecting" }> => s.kind === "reconnecting");
    assert.match(retries[0]?.error ?? "", /HTTP 401/);
    assert.deepEqual(retries.slice(0, 3).map((r) => r.delayMs), [50, 100, 200]);
    assert.deepEqual(retries.slice(0, 3).map((r) => r.attempt), [1, 2, 3]);
    assert.equal(c.seqs().length, 0);
  } finally {
    await source.close();
    await admin.close();
  }
});

test("reconnects after the server stops and comes back on the same port", async () => {
  const [a, b] = fixtures();
  let admin = await startFakeAdmin({ first: a });
  const port = admin.port;
  const source = liveSource({ url: admin.url, backoff: FAST });
  const c = collect();
  source.subscribe(c.listener);
  try {
    await waitFor(() => c.seqs().length === 1, "the first snapshot");
    await admin.close();
    const down = await waitFor(() => {
      const s = c.lastConn();
      return s?.kind === "reconnecting" ? s : undefined;
    }, "reconnecting");
    assert.ok(down.retryAt >= Date.now() - 1000 && down.delayMs === 50, "the first retry comes after the initial delay");
    await waitFor(() => c.conns().filter((s) => s.kind === "reconnecting").length >= 2, "a refused retry");
    const refused = c.conns().filter((s) => s.kind === "reconnecting").at(-1);
    assert.equal(refused?.kind === "reconnecting" ? refused.error : "", "connection refused");
    admin = await startFakeAdmin({ first: b, port });
    await waitFor(() => c.seqs().length === 2, "the snapshot after the restart", 5000);
    assert.deepEqual(c.seqs(), [a.seq, b.seq]);
    assert.equal(c.lastConn()?.kind, "connected");
    const kinds = c.conns().map((s) => s.kind);
    assert.deepEqual(kinds.slice(0, 3), ["connecting", "connected", "reconnecting"]);
  } finally {
    await source.close();
    await admin.close();
  }
});

test("a silent stream is dropped after the idle timeout and re-established", async () => {
  const [a] = fixtures();
  const admin = await startFakeAdmin({ first: a });
  const source = liveSource({ url: admin.url, backoff: FAST, idleTimeoutMs: 150 });
  const c = collect();
  source.subscribe(c.listener);
  try {
    await waitFor(() => c.seqs().length >= 2, "a second subscription after the idle timeout", 5000);
    const retry = c.conns().find((s) => s.kind === "reconnecting");
    assert.match(retry?.kind === "reconnecting" ? retry.error : "", /no data for 150 ms/);
  } finally {
    await source.close();
    await admin.close();
  }
});

test("without reconnect the source stops after the first failure", async () => {
  const admin = await startFakeAdmin();
  const url = admin.url;
  await admin.close();
  const source = liveSource({ url, reconnect: false });
  const c = collect();
  source.subscribe(c.listener);
  await waitFor(() => c.lastConn()?.kind === "reconnecting", "the failure");
  await source.close();
  assert.deepEqual(c.conns().map((s) => s.kind), ["connecting", "reconnecting"]);
});
