import { test } from "node:test";
import assert from "node:assert/strict";
import { formatAccessLog } from "./access_log.ts";

const e = {
  time: Date.UTC(2026, 0, 1),
  level: "info" as const,
  message: "connection complete",
  "src.addr": "127.0.1.2:40000",
  "src.workload": "client",
  "src.identity": "spiffe://cluster.local/ns/default/sa/client",
  "dst.addr": "127.0.1.3:15008",
  "dst.hbone_addr": "127.0.1.3:8080",
  direction: "outbound" as const,
  bytes_sent: 10,
  bytes_recv: 20,
  duration: 5,
};

test("text lines use ztunnel's keys", () => {
  assert.equal(
    formatAccessLog(e, "text"),
    '2026-01-01T00:00:00.000Z info access connection complete src.addr=127.0.1.2:40000 src.workload="client" src.identity="spiffe://cluster.local/ns/default/sa/client" dst.addr=127.0.1.3:15008 dst.hbone_addr=127.0.1.3:8080 direction="outbound" bytes_sent=10 bytes_recv=20 duration="5ms"',
  );
});

test("json lines are one object", () => {
  const o = JSON.parse(formatAccessLog(e, "json"));
  assert.equal(o["src.workload"], "client");
  assert.equal(o.bytes_recv, 20);
  assert.equal(o.duration, "5ms");
  assert.equal(o.scope, "access");
});
