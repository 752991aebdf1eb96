import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTaggedName, taggedName } from "./tags.ts";

test("tagged names: Istio's encoding, labels in order, values with ; and % survive", () => {
  const name = taggedName("istio_tcp_sent_bytes_total", { reporter: "source", source_workload: "a;b%3B.c" });
  assert.equal(name, "reporter=.=source;.;source_workload=.=a%3Bb%253B.c;.;istio_tcp_sent_bytes_total");
  assert.deepEqual(parseTaggedName(name), {
    metric: "istio_tcp_sent_bytes_total",
    labels: [["reporter", "source"], ["source_workload", "a;b%3B.c"]],
  });
  assert.equal(parseTaggedName("tcp.socks5.downstream_cx_total"), null);
});
