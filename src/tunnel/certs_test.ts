import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCa, loadCa } from "../tls/ca.ts";
import { CertManager, rotationTime } from "./certs.ts";
import type { CertMap } from "./protocol.ts";

const A = "spiffe://cluster.local/ns/default/sa/a";
const B = "spiffe://cluster.local/ns/default/sa/b";

test("rotation happens at half life", () => {
  assert.equal(rotationTime({ notBefore: 1000, notAfter: 3000 }), 2000);
});

test("mints per identity, drops unneeded ones, rotates at half life", async () => {
  const dir = await mkdtemp(join(tmpdir(), "weft-certs-"));
  let certs: CertManager | undefined;
  try {
    await initCa(dir);
    const ca = await loadCa(dir);
    let rotated!: (m: CertMap) => void;
    const rotation = new Promise<CertMap>((r) => (rotated = r));
    // Certificates start 60 s in the past (clock skew), so with 2 s to live their half life is
    // already behind them: rotation comes after the 1 s minimum delay.
    certs = new CertManager(ca, { lifetimeMs: 2_000, onChange: (m) => rotated(m) });
    assert.equal(await certs.ensure([A, B]), true);
    assert.deepEqual(Object.keys(certs.certs).sort(), [A, B]);
    assert.equal(await certs.ensure([A, B]), false, "nothing new");
    const first = certs.certs[A]!.serial;
    assert.equal(await certs.ensure([A]), true, "B dropped");
    assert.deepEqual(Object.keys(certs.certs), [A]);
    const dump = certs.dump();
    assert.equal(dump[0]!.identity, A);
    assert.ok(Date.parse(dump[0]!.rotatesAt) < Date.parse(dump[0]!.notAfter));
    // The rotation timer is unref'd (it must not keep a tunnel alive); keep this test's loop alive.
    const keepAlive = setTimeout(() => {}, 10_000);
    const next = await rotation;
    clearTimeout(keepAlive);
    assert.notEqual(next[A]!.serial, first, "a new certificate after half life");
    assert.deepEqual(Object.keys(next), [A]);
  } finally {
    certs?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
