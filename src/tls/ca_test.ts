import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { initCa, loadCa } from "./ca.ts";

test("init writes a root, load mints SPIFFE workload certificates that chain to it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "weft-ca-"));
  try {
    await initCa(dir);
    await assert.rejects(initCa(dir), /already exists/);
    const ca = await loadCa(dir);
    assert.equal(ca.certPem.trim(), (await readFile(join(dir, "ca-cert.pem"), "utf8")).trim());
    const id = "spiffe://cluster.local/ns/default/sa/web";
    const c = await ca.mint(id, { lifetimeMs: 3_600_000 });
    assert.equal(c.identity, id);
    assert.match(c.keyPem, /BEGIN PRIVATE KEY/);
    const x = new X509Certificate(c.certPem);
    const root = new X509Certificate(ca.certPem);
    assert.ok(x.verify(root.publicKey), "signed by the root");
    assert.equal(x.checkIssued(root), true);
    assert.match(x.subjectAltName ?? "", /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/web/);
    assert.ok(Math.abs(c.notAfter - Date.now() - 3_600_000) < 5000);
    assert.equal(x.ca, false);
    assert.ok(root.ca);
    await assert.rejects(ca.mint("https://not-spiffe"), /not a spiffe/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("loading a missing CA says how to create one", async () => {
  await assert.rejects(loadCa("/nonexistent/weft-ca"), /weft tunnel ca init --dir/);
});
