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

test("every field is escaped in both formats: no value can break or forge a line", () => {
  const hostile = "x\ny\r2001-01-01T00:00:00.000Z info access \u0085\u2028\u2029\u007f\u001b \"q\" \\";
  const fields = ["src.addr", "src.workload", "src.namespace", "src.identity", "dst.addr", "dst.hbone_addr", "dst.service", "dst.workload", "dst.namespace", "dst.identity", "error", "policy", "message"] as const;
  for (const field of fields) {
    for (const format of ["text", "json"] as const) {
      const line = formatAccessLog({ ...e, [field]: hostile }, format);
      // deno-lint-ignore no-control-regex -- what must never reach the log raw
      assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u2028\u2029]/, `${format} ${field}`);
      if (format === "json") assert.equal(JSON.parse(line)[field], hostile, `json ${field} round-trips`);
      else assert.ok(line.includes(`${field === "message" ? "" : `${field}=`}${JSON.stringify(hostile).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}`), `text ${field}: ${line}`);
    }
  }
});

test("bidirectional controls are escaped too: a client's U+202E cannot reverse how the rest of a line reads", () => {
  const bidi = "a\u202eb\u202ac\u2066d\u2069e\u200ff\u061cg";
  for (const format of ["text", "json"] as const) {
    const line = formatAccessLog({ ...e, "dst.addr": `${bidi}:80`, error: `unknown host ${bidi}` }, format);
    assert.doesNotMatch(line, /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/, `${format}: ${JSON.stringify(line)}`);
    assert.ok(line.includes(String.raw`a\u202eb\u202ac\u2066d\u2069e\u200ff\u061cg`), line);
  }
  assert.equal(JSON.parse(formatAccessLog({ ...e, error: bidi }, "json")).error, bidi, "still the same value to a JSON reader");
});
