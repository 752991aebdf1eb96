import { test } from "node:test";
import assert from "node:assert/strict";
import type { FilterChain, FilterChainMatch, Listener } from "../config/types.ts";
import { ANY_CONNECTION } from "../config/listener.ts";
import { FilterChainSelector } from "./listener.ts";


function chain(name: string, match: Partial<FilterChainMatch>): FilterChain {
  return { name, match: { ...ANY_CONNECTION, ...match }, kind: "tcp_proxy", tcpProxy: { statPrefix: name, clusters: [{ name: "c", weight: 1 }], idleTimeoutMs: 0, maxConnectAttempts: 1 } };
}

function selector(chains: FilterChain[], defaultChain: FilterChain | null = null): (remoteAddress: string, remotePort?: number, localPort?: number) => string | null {
  const listener: Listener = {
    name: "l",
    address: { address: "127.0.0.1", port: 80 },
    perConnectionBufferLimitBytes: 1 << 20,
    maxConnections: null,
    filterChains: chains,
    defaultFilterChain: defaultChain,
  };
  const s = new FilterChainSelector(listener);
  return (remoteAddress, remotePort = 40000, localPort = 80) => s.select({ remoteAddress, remotePort, localPort })?.name ?? null;
}

test("FilterChainSelector: destination_port first, and no backtracking to chains without it (Envoy's order)", () => {
  const pick = selector([
    chain("port-80-from-ten", { destinationPort: 80, sourcePrefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }] }),
    chain("any-port", {}),
  ], chain("default", {}));
  assert.equal(pick("10.1.2.3"), "port-80-from-ten");
  // The port-80 chain is the only one left after the port; its source range fails: the default, not "any-port".
  assert.equal(pick("192.168.0.1"), "default");
  assert.equal(pick("192.168.0.1", 40000, 81), "any-port");
});

test("FilterChainSelector: the longest matching prefix wins, then the chains without ranges; IPv6 too", () => {
  const pick = selector([
    chain("wide", { sourcePrefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }] }),
    chain("narrow", { sourcePrefixRanges: [{ addressPrefix: "10.1.0.0", prefixLen: 16 }, { addressPrefix: "fd00::", prefixLen: 8 }] }),
    chain("none", {}),
  ]);
  assert.equal(pick("10.1.2.3"), "narrow");
  assert.equal(pick("10.2.0.1"), "wide");
  assert.equal(pick("fd12::1"), "narrow");
  assert.equal(pick("192.168.0.1"), "none");
});

test("FilterChainSelector: direct_source before source_type before source ranges before source_ports; nothing left → null", () => {
  const pick = selector([
    chain("direct", { directSourcePrefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }], sourcePorts: [5000] }),
    chain("local", { sourceType: "SAME_IP_OR_LOOPBACK" }),
    chain("external-port", { sourceType: "EXTERNAL", sourcePorts: [6000] }),
  ]);
  assert.equal(pick("10.0.0.1", 5000), "direct");
  // direct_source matched, so the chains without it are out; its source port fails: nothing.
  assert.equal(pick("10.0.0.1", 5001), null);
  assert.equal(pick("127.0.0.1"), "local");
  assert.equal(pick("192.168.0.1", 6000), "external-port");
  assert.equal(pick("192.168.0.1", 6001), null);
});

test("FilterChainSelector: transport_protocol raw_buffer matches a plain connection; another value never does", () => {
  const pick = selector([chain("raw", { transportProtocol: "raw_buffer" }), chain("quic", { transportProtocol: "quic", destinationPort: 80 })]);
  // destination_port comes first: only "quic" is left, and its protocol fails.
  assert.equal(pick("127.0.0.1"), null);
  assert.equal(pick("127.0.0.1", 40000, 81), "raw");
});
