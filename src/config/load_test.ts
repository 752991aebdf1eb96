import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBootstrap } from "./load.ts";

const YAML = "admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: 9901}}\nstats_flush_interval: 3s # é\n";

function file(name: string, bytes: Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), "weft-load-")), name);
  writeFileSync(path, bytes);
  return path;
}

function utf16(text: string, bigEndian: boolean): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out.set(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 + 2 * i + (bigEndian ? 0 : 1)] = unit >> 8;
    out[2 + 2 * i + (bigEndian ? 1 : 0)] = unit & 0xff;
  }
  return out;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

test("load: UTF-8 with or without a BOM and UTF-16 LE/BE with a BOM or without one read the same on every runtime (YAML 1.2 §5.2)", async () => {
  const encodings: [string, Uint8Array][] = [
    ["utf8.yaml", utf8(YAML)],
    ["utf8-bom.yaml", new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(YAML)])],
    ["utf16le.yaml", utf16(YAML, false)],
    ["utf16be.yaml", utf16(YAML, true)],
    // Without a byte order mark, the zero byte of the first (ASCII) character tells (YAML 1.2 §5.2).
    ["utf16le-nobom.yaml", utf16(YAML, false).subarray(2)],
    ["utf16be-nobom.yaml", utf16(YAML, true).subarray(2)],
  ];
  for (const [name, bytes] of encodings) {
    const loaded = await loadBootstrap(file(name, bytes));
    assert.ok(loaded.ok, `${name}: ${loaded.ok ? "" : loaded.messages.join("\n")}`);
    assert.equal(loaded.bootstrap.statsFlushIntervalMs, 3000, name);
    assert.equal(loaded.bootstrap.admin?.port, 9901, name);
  }
});

test("load: bytes that are not UTF-8 (or UTF-32) are refused with where they are, never read as U+FFFD", async () => {
  const bytes = utf8("admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: 9901}}\n# caf\xe9\n");
  // "é" as Latin-1: one 0xE9 byte, which starts a 3-byte UTF-8 sequence that never comes.
  const latin1 = new Uint8Array([...bytes.subarray(0, bytes.length - 3), 0xe9, 0x0a]);
  const path = file("latin1.yaml", latin1);
  const loaded = await loadBootstrap(path);
  assert.equal(loaded.ok, false);
  assert.deepEqual(!loaded.ok && loaded.messages, [
    `${path}:3:6: the file is not valid UTF-8 (byte 0xe9); save it as UTF-8, or as UTF-16 with a byte order mark`,
  ]);
  const odd = file("odd.yaml", new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x3a]));
  const oddLoaded = await loadBootstrap(odd);
  assert.deepEqual(!oddLoaded.ok && oddLoaded.messages, [`${odd}: the file starts with a UTF-16 byte order mark but has an odd number of bytes`]);
  for (const utf32 of [[0x61, 0, 0, 0, 0x3a, 0, 0, 0], [0, 0, 0, 0x61, 0, 0, 0, 0x3a]]) {
    const path32 = file("utf32.yaml", new Uint8Array(utf32));
    const loaded32 = await loadBootstrap(path32);
    assert.deepEqual(!loaded32.ok && loaded32.messages, [`${path32}: the file is UTF-32, which weft does not read yet; save it as UTF-8`]);
  }
});

test("load: a document nested deeper than the one-pass reader's stack allows is an error naming the file, not a thrown RangeError", async () => {
  const depth = 200_000;
  const documents: [string, string][] = [
    ["flow.yaml", `admin: ${"[".repeat(depth)}${"]".repeat(depth)}\n`],
    ["flow-map.yaml", `admin: ${"{a: ".repeat(depth)}1${"}".repeat(depth)}\n`],
  ];
  for (const [name, text] of documents) {
    const path = file(name, utf8(text));
    const loaded = await loadBootstrap(path);
    assert.equal(loaded.ok, false, name);
    // The yaml package reports its own stack overflow as invalid YAML with a position; the
    // one-pass reader threw instead.
    for (const message of !loaded.ok ? loaded.messages : []) assert.ok(message.startsWith(`${path}:`), message);
  }
});
