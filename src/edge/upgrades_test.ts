import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRequestHead } from "./http1/mod.ts";
import { protocolSwitch, switchAllowed } from "./upgrades.ts";

const LIMITS = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

function switchOf(head: string): ReturnType<typeof protocolSwitch> {
  const r = parseRequestHead(new TextEncoder().encode(head), LIMITS);
  if (r.status !== "ok") throw new Error(`head not parsed: ${JSON.stringify(r)}`);
  return protocolSwitch(r.head);
}

test("CONNECT and Upgrade with Connection: upgrade ask to switch; h2c and a bare Upgrade do not", () => {
  assert.deepEqual(switchOf("CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n"), { kind: "connect" });
  assert.deepEqual(switchOf("GET /ws HTTP/1.1\r\nhost: x\r\nconnection: keep-alive, Upgrade\r\nupgrade: websocket\r\n\r\n"), { kind: "upgrade", type: "websocket" });
  assert.equal(switchOf("GET / HTTP/1.1\r\nhost: x\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: H2C\r\nhttp2-settings: AAA\r\n\r\n"), null);
  assert.equal(switchOf("GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n\r\n"), null);
  assert.equal(switchOf("GET / HTTP/1.1\r\nhost: x\r\n\r\n"), null);
});

test("without upgrade_configs no switch is allowed", () => {
  assert.equal(switchAllowed({ kind: "connect" }), false);
  assert.equal(switchAllowed({ kind: "upgrade", type: "websocket" }), false);
});
