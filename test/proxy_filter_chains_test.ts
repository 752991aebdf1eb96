/**
 * Several filter chains on one listener, chosen per connection by `filter_chain_match` in Envoy's
 * order of precedence, with `default_filter_chain` and `listener.<address>.no_filter_chain_match`;
 * each chain an HTTP connection manager or a tcp_proxy. Clients are node's own sockets and fetch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { parseStats } from "./helpers/bootstrap.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";

const HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

/** A chain (YAML list item body, 6 spaces in) answering every request with `body`. */
function httpChain(body: string): string {
  return `filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": ${HCM_TYPE}
          stat_prefix: ${body}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: ${body} } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
}

function tcpChain(statPrefix: string): string {
  return `filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": ${TCP_PROXY_TYPE}, stat_prefix: ${statPrefix}, cluster: echo }`;
}

/** `clusters:` with the one cluster `echo` at 127.0.0.1:`port`. */
function echoCluster(port: number): string {
  return `  clusters:
  - name: echo
    load_assignment:
      cluster_name: echo
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }
`;
}

function config(echoPort: number): string {
  const listener = (name: string, chains: string, extra = "") => `
  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:${chains}${extra}`;
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
stats_flush_interval: 0.2s
static_resources:
  listeners:${listener("prefixes", `
    - filter_chain_match: { source_prefix_ranges: [{ address_prefix: 127.0.0.0, prefix_len: 8 }] }
      ${tcpChain("wide")}
    - filter_chain_match: { source_prefix_ranges: [{ address_prefix: 127.0.0.1, prefix_len: 32 }] }
      ${httpChain("longest-prefix")}
    - ${httpChain("no-criteria")}`)}${listener("types", `
    - filter_chain_match: { source_type: EXTERNAL }
      ${httpChain("external")}
    - filter_chain_match: { source_type: SAME_IP_OR_LOOPBACK, transport_protocol: raw_buffer }
      ${tcpChain("local")}`)}${listener("ports", `
    - filter_chain_match: { destination_port: 1 }
      ${httpChain("port-1")}`, `
    default_filter_chain:
      ${tcpChain("default")}`)}${listener("nothing", `
    - filter_chain_match: { source_prefix_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 }] }
      ${httpChain("ten")}`)}
${echoCluster(echoPort)}`;
}

/**
 * Sends `text` on a new connection and resolves with what came back once it closed; a reset (a
 * socket closed with our bytes unread) ends it too.
 */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ port, host: "127.0.0.1" }, () => s.end(text));
    let got = "";
    s.on("data", (c: Buffer) => (got += c.toString()));
    s.on("error", () => {});
    s.on("close", () => resolve(got));
  });
}

test("filter chains: the longest source prefix wins, then source_type; default_filter_chain; no match closes and counts", { timeout: 60_000 }, async () => {
  const echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  const echoPort = (echo.address() as { port: number }).port;
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", config(echoPort))]);
  try {
    const { prefixes, types, ports, nothing } = weft.listeners as Record<string, number>;
    // 127.0.0.1/32 beats 127.0.0.0/8, and a chain with a matching range beats one without.
    assert.equal(await (await fetch(`http://127.0.0.1:${prefixes}/`)).text(), "longest-prefix");
    // A loopback client is SAME_IP_OR_LOOPBACK; a connection without TLS is raw_buffer.
    assert.equal(await withTimeout(exchange(types!, "hello local"), 10_000, "the echo"), "hello local");
    // No chain for the destination port: the default chain, a tcp_proxy.
    assert.equal(await withTimeout(exchange(ports!, "hello default"), 10_000, "the echo"), "hello default");
    // No chain matches and no default: closed at once, nothing answered.
    assert.equal(await withTimeout(exchange(nothing!, "GET / HTTP/1.1\r\nhost: x\r\n\r\n"), 10_000, "the close"), "");
    const st = await eventually("the chains' stats", async () => {
      const st = parseStats(await (await weft.admin("/stats")).text());
      return st[`listener.127.0.0.1_${nothing}.no_filter_chain_match`] === 1 && st["tcp.default.downstream_cx_total"] === 1 ? st : null;
    });
    assert.equal(st["tcp.local.downstream_cx_total"], 1);
    assert.equal(st["tcp.wide.downstream_cx_total"] ?? 0, 0);
    assert.equal(st["http.longest-prefix.downstream_rq_total"], 1);
    // Envoy closes it before it is a connection of the listener.
    assert.equal(st[`listener.127.0.0.1_${nothing}.downstream_cx_total`] ?? 0, 0);
  } finally {
    await weft.stop();
    await new Promise<void>((r) => echo.close(() => r()));
  }
});

test("filter chains: a reload that turns a listener's HTTP chain into a tcp_proxy applies to new connections", { timeout: 60_000 }, async () => {
  const echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  const echoPort = (echo.address() as { port: number }).port;
  const yamlWith = (chain: string) => `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: edge
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - ${chain}
${echoCluster(echoPort)}`;
  const path = writeTempFile("envoy.yaml", yamlWith(httpChain("before")));
  const weft = await startWeft(["proxy", "serve", "--concurrency", "2", "-c", path]);
  try {
    const port = weft.listeners.edge!;
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "before");
    writeFileSync(path, yamlWith(tcpChain("after")));
    const reload = await weft.admin("/reload", { method: "POST" });
    assert.equal(reload.status, 200, await reload.text());
    // Every worker binds the listener again, half-open; each new connection is relayed.
    await eventually("the tcp_proxy on every worker", async () => {
      for (let i = 0; i < 10; i++) if (await withTimeout(exchange(port, "after?"), 10_000, "the echo") !== "after?") return false;
      return true;
    }, 10_000);
  } finally {
    await weft.stop();
    await new Promise<void>((r) => echo.close(() => r()));
  }
});
