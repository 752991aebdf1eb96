import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PeerOpenError, PeerStreams, type PeerStream } from "./peer_streams.ts";

function pair() {
  const a = new PeerStreams(0);
  const b = new PeerStreams(1);
  const ch = new MessageChannel();
  a.addPeer(1, ch.port1);
  b.addPeer(0, ch.port2);
  return { a, b, close: () => (a.close(), b.close()) };
}

/** A stream `a` opens to `b` that `b` accepts: the opener's end and the owner's. */
async function openAccepted(a: PeerStreams, b: PeerStreams): Promise<{ client: PeerStream; owner: PeerStream }> {
  let owner!: PeerStream;
  b.onOpen = (_req, accept) => void (owner = accept());
  const client = await a.open(1, {});
  return { client, owner };
}

/** Writes `total` bytes with backpressure, ends, and returns the hash of what was written. */
async function pump(s: PeerStream, total: number, seed: number): Promise<string> {
  const h = createHash("sha256");
  const block = new Uint8Array(100_000).map((_, i) => (i * seed) & 0xff);
  for (let sent = 0; sent < total; sent += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, total - sent));
    h.update(chunk);
    if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
  }
  s.end();
  return h.digest("hex");
}

function drainAll(s: PeerStream): Promise<{ hash: string; bytes: number }> {
  return new Promise((resolve) => {
    const h = createHash("sha256");
    let bytes = 0;
    s.on("data", (d: Uint8Array) => {
      h.update(d);
      bytes += d.length;
    });
    s.once("end", () => resolve({ hash: h.digest("hex"), bytes }));
  });
}

test("a forwarded stream carries both directions intact, with half-close", async () => {
  const { a, b, close } = pair();
  try {
    let owner!: PeerStream;
    const accepted = new Promise<void>((r) => {
      b.onOpen = (req, accept) => {
        assert.deepEqual(req, { key: "k" });
        owner = accept();
        r();
      };
    });
    const client = await a.open(1, { key: "k" });
    await accepted;
    const total = 8 << 20;
    const [upHash, downHash, up, down] = await Promise.all([pump(client, total, 3), pump(owner, total, 7), drainAll(owner), drainAll(client)]);
    assert.equal(up.bytes, total);
    assert.equal(up.hash, upHash);
    assert.equal(down.bytes, total);
    assert.equal(down.hash, downHash);
  } finally {
    close();
  }
});

test("a slow reader holds the writer back (credit)", async () => {
  const { a, b, close } = pair();
  try {
    const { client, owner } = await openAccepted(a, b);
    owner.pause();
    let written = 0;
    const block = new Uint8Array(64 << 10);
    while (client.write(block)) written += block.length;
    assert.ok(written < 8 << 20, `stopped after ${written} bytes`);
    const drained = new Promise((r) => client.once("drain", r));
    owner.resume();
    owner.on("data", () => {});
    await drained;
  } finally {
    close();
  }
});

test("refusals and closes propagate", async () => {
  const { a, b, close } = pair();
  try {
    b.onOpen = (_req, _accept, reject) => reject("denied", 401);
    await assert.rejects(a.open(1, {}), (e: PeerOpenError) => e.status === 401 && e.message === "denied");
    const { client, owner } = await openAccepted(a, b);
    const closed = new Promise((r) => owner.once("close", r));
    client.destroy();
    await closed;
    assert.equal(a.size + b.size, 0);
    await assert.rejects(a.open(5, {}), /no port/);
  } finally {
    close();
  }
});

test("a close right after end does not drop what the reader has not consumed yet", async () => {
  const { a, b, close } = pair();
  try {
    const { client, owner } = await openAccepted(a, b);
    owner.pause();
    const total = 1 << 20;
    client.end(new Uint8Array(total).fill(9));
    await new Promise((r) => client.once("finish", r));
    client.destroy(); // the sender is done with the stream: "close" follows "end"
    const got = drainAll(owner);
    owner.resume();
    assert.equal((await got).bytes, total);
  } finally {
    close();
  }
});

test("chunks are copied unless the writer lets whole ones move", async () => {
  const { a, b, close } = pair();
  try {
    const { client, owner } = await openAccepted(a, b);
    const got = drainAll(owner);
    const kept = new Uint8Array(1000).fill(1);
    client.write(kept);
    assert.equal(kept.byteLength, 1000, "copied: the writer keeps its chunk");
    client.moveWholeChunks = true;
    const moved = new Uint8Array(1000).fill(2);
    client.write(moved);
    assert.equal(moved.byteLength, 0, "moved: the chunk is detached, not copied");
    const slice = new Uint8Array(2000).fill(3).subarray(500, 1500);
    client.write(slice);
    assert.equal(slice.byteLength, 1000, "a slice of a larger buffer is still copied");
    client.end();
    const all = await got;
    assert.equal(all.bytes, 3000);
    const expected = createHash("sha256").update(new Uint8Array(1000).fill(1)).update(new Uint8Array(1000).fill(2))
      .update(new Uint8Array(1000).fill(3)).digest("hex");
    assert.equal(all.hash, expected);
  } finally {
    close();
  }
});

test("an open the owner never answers times out, and a late answer closes the owner's end", async () => {
  const { a, b, close } = pair();
  try {
    let accept!: () => PeerStream;
    const asked = new Promise<void>((r) => (b.onOpen = (_req, acc) => ((accept = acc), r())));
    const opening = a.open(1, {}, 50);
    await asked;
    await assert.rejects(opening, (e: Error) => e instanceof PeerOpenError && /did not answer within 50 ms/.test(e.message));
    const late = accept();
    await new Promise((r) => late.once("close", r)); // closed by the opener's answer to "opened"
    assert.equal(a.size + b.size, 0);
  } finally {
    close();
  }
});

test("closing rejects the opens still waiting", async () => {
  const { a, b, close } = pair();
  try {
    const asked = new Promise<void>((r) => (b.onOpen = () => r()));
    const opening = a.open(1, {});
    await asked;
    a.close();
    await assert.rejects(opening, PeerOpenError);
  } finally {
    close();
  }
});

test("a peer that is gone: opens waiting for it are rejected, its streams destroyed, it is no longer listed", async () => {
  const { a, b, close } = pair();
  try {
    const { client } = await openAccepted(a, b);
    const clientClosed = new Promise((r) => client.once("close", r));
    b.onOpen = () => {}; // never answers
    const waiting = a.open(1, {});
    a.removePeer(1);
    await assert.rejects(waiting, (e: Error) => e instanceof PeerOpenError && /worker 1 is gone/.test(e.message));
    await clientClosed;
    assert.deepEqual(a.peers, []);
    assert.equal(a.size, 0);
  } finally {
    close();
  }
});
