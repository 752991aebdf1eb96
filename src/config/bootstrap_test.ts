import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_BOOTSTRAP_YAML, formatConfigError, parseBootstrap } from "./bootstrap.ts";
import { ANY_CONNECTION } from "./listener.ts";
import type { Bootstrap, Cluster, HttpConnectionManager, Listener } from "./types.ts";

/** Template tag for YAML fixtures: drops the first newline and the common indentation. */
function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings.raw }, ...values).replace(/^\n/, "");
  const indents = text.split("\n").filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const indent = Math.min(...indents);
  return text.split("\n").map((l) => l.slice(indent)).join("\n");
}

/** The formatted errors of a config that must not parse. */
function errorsOf(text: string): string[] {
  const result = parseBootstrap(text);
  if (result.ok) assert.fail("expected the configuration to be rejected");
  return result.errors.map((e) => formatConfigError(e, "envoy.yaml"));
}

/** The model of a config that must parse. */
function modelOf(text: string): Bootstrap {
  const result = parseBootstrap(text);
  if (!result.ok) assert.fail(result.errors.map((e) => formatConfigError(e, "envoy.yaml")).join("\n"));
  return result.bootstrap;
}


/** The HTTP connection manager of a listener's first filter chain. */
function hcmOf(l: Listener | undefined): HttpConnectionManager {
  const chain = l?.filterChains[0];
  if (chain?.kind !== "http") return assert.fail("no HTTP filter chain");
  return chain.http;
}

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

/** Indents every line of `text` by `n` spaces. */
function indent(text: string, n: number): string {
  return text.split("\n").map((l) => (l === "" ? l : " ".repeat(n) + l)).join("\n");
}

/**
 * A valid one-listener config whose virtual_hosts[0].routes are `routes` (a YAML list). The first
 * route is on line 16.
 */
function withRoutes(routes: string, clusters = "[{name: backend}]"): string {
  return yaml`
    static_resources:
      listeners:
      - name: l
        address: {socket_address: {address: 127.0.0.1, port_value: 8080}}
        filter_chains:
        - filters:
          - name: envoy.filters.network.http_connection_manager
            typed_config:
              "@type": ${HCM}
              stat_prefix: ingress
              route_config:
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
    ROUTES
              http_filters: [{name: envoy.filters.http.router}]
      clusters: ${clusters}
  `.replace("ROUTES\n", indent(routes.endsWith("\n") ? routes : `${routes}\n`, 14));
}

const DEFAULT_HCM: Omit<HttpConnectionManager, "statPrefix" | "routeConfig"> = {
  httpFilters: ["envoy.filters.http.router"],
  maxRequestHeadersBytes: 60 * 1024,
  maxHeadersCount: 100,
  idleTimeoutMs: 3_600_000,
  maxRequestsPerConnection: 0,
  requestHeadersTimeoutMs: 0,
  requestTimeoutMs: 0,
  streamIdleTimeoutMs: 300_000,
  useRemoteAddress: false,
  xffNumTrustedHops: 0,
  internalAddressRanges: [],
  generateRequestId: true,
  serverName: "weft",
  stripTrailingHostDot: false,
  stripHostPort: "none",
  upgradeConfigs: [],
};

// ---------------------------------------------------------------------------------------------
// Valid configurations

const FULL_EXAMPLE = yaml`
  node: {id: edge-1, cluster: edge}
  admin:
    address:
      socket_address: {address: 0.0.0.0, port_value: 9901}
  stats_flush_interval: 2.5s
  watchdogs:
    worker_watchdog: {miss_timeout: 0.1s, megamiss_timeout: 0.5s, kill_timeout: 30s, multikill_timeout: 60s, multikill_threshold: {value: 50}}
  overload_manager:
    resource_monitors:
    - name: envoy.resource_monitors.global_downstream_max_connections
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
        max_active_downstream_connections: 5000
  static_resources:
    listeners:
    - name: public
      address:
        socket_address: {protocol: TCP, address: 0.0.0.0, port_value: 8080}
      per_connection_buffer_limit_bytes: 32768
      max_connections: 1000
      filter_chains:
      - filters:
        - name: envoy.filters.network.http_connection_manager
          typed_config:
            "@type": ${HCM}
            stat_prefix: public_http
            codec_type: HTTP1
            server_name: edge
            use_remote_address: true
            xff_num_trusted_hops: 2
            internal_address_config:
              unix_sockets: false
              cidr_ranges:
              - {address_prefix: 10.0.0.0, prefix_len: 8}
              - {address_prefix: "fd00::"}
            strip_trailing_host_dot: true
            strip_any_host_port: true
            upgrade_configs: [{ upgrade_type: WebSocket }, { upgrade_type: CONNECT, enabled: false }]
            generate_request_id: false
            max_request_headers_kb: 32
            request_headers_timeout: 10s
            request_timeout: 60s
            stream_idle_timeout: 120s
            common_http_protocol_options:
              idle_timeout: 300s
              max_requests_per_connection: 1000
              max_headers_count: 50
            route_config:
              name: public_routes
              virtual_hosts:
              - name: api
                domains: ["API.example.com", "api.example.com:8080"]
                routes:
                - name: v1
                  match:
                    prefix: /v1/
                    headers:
                    - {name: X-Canary, exact_match: "yes"}
                    - {name: authorization, present_match: true}
                    - {name: x-debug, present_match: false}
                    - {name: user-agent, string_match: {contains: curl, ignore_case: true}}
                    - {name: x-tenant, safe_regex_match: {regex: "t-[0-9]+"}, invert_match: true}
                    - {name: x-prefixed, prefix_match: abc}
                    - {name: x-suffixed, suffix_match: xyz}
                    - {name: x-any}
                  route:
                    weighted_clusters:
                      clusters:
                      - {name: api_v1, weight: 90}
                      - {name: api_v2, weight: 10}
                      total_weight: 100
                    prefix_rewrite: /
                    timeout: 2s
                - name: item
                  match:
                    safe_regex: {google_re2: {}, regex: "/items/[0-9]+"}
                  route: {cluster: api_v2, host_rewrite_literal: items.internal, timeout: 0s}
                - match: {path: /Status, case_sensitive: false}
                  direct_response: {status: 503, body: {inline_string: "down for maintenance\n"}}
                - match: {path: /empty}
                  direct_response: {status: 204}
              - name: legacy
                domains: ["*.legacy.example.com", "legacy.*"]
                routes:
                - match: {prefix: /}
                  redirect: {https_redirect: true, host_redirect: www.example.com, port_redirect: 8443, path_redirect: /moved, response_code: PERMANENT_REDIRECT, strip_query: true}
              - name: catch_all
                domains: ["*"]
                routes:
                - match: {prefix: /old/}
                  redirect: {scheme_redirect: HTTP, prefix_rewrite: /new/}
                - match: {prefix: /}
                  route: {cluster: api_v1}
            http_filters:
            - name: envoy.filters.http.router
              typed_config:
                "@type": ${ROUTER}
    clusters:
    - name: api_v1
      connect_timeout: 0.25s
      load_assignment:
        cluster_name: api_v1
        endpoints:
        - lb_endpoints:
          - endpoint:
              address: {socket_address: {address: 10.0.0.1, port_value: 80}}
          - endpoint:
              address: {socket_address: {address: "::1", port_value: 81}}
            load_balancing_weight: 3
        - lb_endpoints:
          - endpoint:
              address: {socket_address: {address: 10.0.0.2, port_value: 80}}
    - name: api_v2
      type: STRICT_DNS
      lb_policy: LEAST_REQUEST
      dns_lookup_family: V4_ONLY
      dns_refresh_rate: 30s
      load_assignment:
        cluster_name: api_v2
        endpoints:
        - lb_endpoints:
          - endpoint:
              address: {socket_address: {address: api-v2.internal, port_value: 8080}}
`;

test("parseBootstrap() reads a full example into the model", () => {
  const listener: Listener = {
    name: "public",
    address: { address: "0.0.0.0", port: 8080 },
    perConnectionBufferLimitBytes: 32768,
    maxConnections: 1000,
    filterChains: [{ name: "", match: ANY_CONNECTION, kind: "http", http: {
      statPrefix: "public_http",
      httpFilters: ["envoy.filters.http.router"],
      maxRequestHeadersBytes: 32 * 1024,
      maxHeadersCount: 50,
      idleTimeoutMs: 300_000,
      maxRequestsPerConnection: 1000,
      requestHeadersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      streamIdleTimeoutMs: 120_000,
      useRemoteAddress: true,
      xffNumTrustedHops: 2,
      internalAddressRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }, { addressPrefix: "fd00::", prefixLen: 0 }],
      generateRequestId: false,
      serverName: "edge",
      stripTrailingHostDot: true,
      stripHostPort: "any",
      upgradeConfigs: [{ upgradeType: "websocket", enabled: true }, { upgradeType: "connect", enabled: false }],
      routeConfig: {
        name: "public_routes",
        virtualHosts: [
          {
            name: "api",
            domains: ["api.example.com", "api.example.com:8080"],
            routes: [
              {
                name: "v1",
                match: {
                  kind: "prefix",
                  value: "/v1/",
                  caseSensitive: true,
                  headers: [
                    { name: "x-canary", kind: "exact", value: "yes", invert: false, ignoreCase: false },
                    { name: "authorization", kind: "present", value: "", invert: false, ignoreCase: false },
                    { name: "x-debug", kind: "present", value: "", invert: true, ignoreCase: false },
                    { name: "user-agent", kind: "contains", value: "curl", invert: false, ignoreCase: true },
                    { name: "x-tenant", kind: "regex", value: "t-[0-9]+", invert: true, ignoreCase: false },
                    { name: "x-prefixed", kind: "prefix", value: "abc", invert: false, ignoreCase: false },
                    { name: "x-suffixed", kind: "suffix", value: "xyz", invert: false, ignoreCase: false },
                    { name: "x-any", kind: "present", value: "", invert: false, ignoreCase: false },
                  ],
                },
                action: {
                  type: "route",
                  clusters: [{ name: "api_v1", weight: 90 }, { name: "api_v2", weight: 10 }],
                  totalWeight: 100,
                  prefixRewrite: "/",
                  hostRewriteLiteral: null,
                  timeoutMs: 2000,
                  upgradeConfigs: [],
                },
              },
              {
                name: "item",
                match: { kind: "regex", value: "/items/[0-9]+", caseSensitive: true, headers: [] },
                action: {
                  type: "route",
                  clusters: [{ name: "api_v2", weight: 1 }],
                  totalWeight: 1,
                  prefixRewrite: null,
                  hostRewriteLiteral: "items.internal",
                  timeoutMs: 0,
                  upgradeConfigs: [],
                },
              },
              {
                name: "",
                match: { kind: "path", value: "/Status", caseSensitive: false, headers: [] },
                action: { type: "direct_response", status: 503, body: "down for maintenance\n" },
              },
              {
                name: "",
                match: { kind: "path", value: "/empty", caseSensitive: true, headers: [] },
                action: { type: "direct_response", status: 204, body: null },
              },
            ],
          },
          {
            name: "legacy",
            domains: ["*.legacy.example.com", "legacy.*"],
            routes: [
              {
                name: "",
                match: { kind: "prefix", value: "/", caseSensitive: true, headers: [] },
                action: {
                  type: "redirect",
                  schemeRedirect: "https",
                  hostRedirect: "www.example.com",
                  portRedirect: 8443,
                  pathRedirect: "/moved",
                  prefixRewrite: null,
                  responseCode: 308,
                  stripQuery: true,
                },
              },
            ],
          },
          {
            name: "catch_all",
            domains: ["*"],
            routes: [
              {
                name: "",
                match: { kind: "prefix", value: "/old/", caseSensitive: true, headers: [] },
                action: {
                  type: "redirect",
                  schemeRedirect: "http",
                  hostRedirect: null,
                  portRedirect: null,
                  pathRedirect: null,
                  prefixRewrite: "/new/",
                  responseCode: 301,
                  stripQuery: false,
                },
              },
              {
                name: "",
                match: { kind: "prefix", value: "/", caseSensitive: true, headers: [] },
                action: {
                  type: "route",
                  clusters: [{ name: "api_v1", weight: 1 }],
                  totalWeight: 1,
                  prefixRewrite: null,
                  hostRewriteLiteral: null,
                  timeoutMs: 15_000,
                  upgradeConfigs: [],
                },
              },
            ],
          },
        ],
      },
    } }],
    defaultFilterChain: null,
  };
  const clusters: Cluster[] = [
    {
      name: "api_v1",
      type: "STATIC",
      connectTimeoutMs: 250,
      lbPolicy: "ROUND_ROBIN",
      dnsRefreshRateMs: 5000,
      endpoints: [
        { address: { address: "10.0.0.1", port: 80 }, weight: 1 },
        { address: { address: "::1", port: 81 }, weight: 3 },
        { address: { address: "10.0.0.2", port: 80 }, weight: 1 },
      ],
    },
    {
      name: "api_v2",
      type: "STRICT_DNS",
      connectTimeoutMs: 5000,
      lbPolicy: "LEAST_REQUEST",
      dnsRefreshRateMs: 30_000,
      endpoints: [{ address: { address: "api-v2.internal", port: 8080 }, weight: 1 }],
    },
  ];
  const expected: Bootstrap = {
    node: { id: "edge-1", cluster: "edge" },
    admin: { address: "0.0.0.0", port: 9901 },
    statsFlushIntervalMs: 2500,
    listeners: [listener],
    clusters,
    watchdog: { missTimeoutMs: 100, megamissTimeoutMs: 500, killTimeoutMs: 30_000, multikillTimeoutMs: 60_000, multikillThresholdPercent: 50 },
    globalDownstreamMaxConnections: 5000,
    runtime: { layers: [], unknownKeys: [] },
  };
  assert.deepEqual(modelOf(FULL_EXAMPLE), expected);
});

test("parseBootstrap() model is plain data that survives structuredClone", () => {
  const model = modelOf(FULL_EXAMPLE);
  assert.deepEqual(structuredClone(model), model);
});

test("DEFAULT_BOOTSTRAP_YAML parses with no errors into the documented default", () => {
  const model = modelOf(DEFAULT_BOOTSTRAP_YAML);
  assert.deepEqual(model.admin, { address: "127.0.0.1", port: 9901 });
  assert.equal(model.statsFlushIntervalMs, 1000);
  const [main] = model.listeners;
  assert.equal(model.listeners.length, 1);
  assert.equal(main?.name, "main");
  assert.deepEqual(main?.address, { address: "127.0.0.1", port: 10000 });
  assert.equal(hcmOf(main).statPrefix, "ingress_http");
  assert.equal(hcmOf(main).useRemoteAddress, true);
  // Trusts no client, loopback included (see the comment in the YAML).
  assert.deepEqual(hcmOf(main).internalAddressRanges, []);
  const vh = hcmOf(main).routeConfig.virtualHosts[0];
  assert.deepEqual(vh?.domains, ["*"]);
  assert.deepEqual(
    vh?.routes.map((r) => [r.match.kind, r.match.value, r.action]),
    [
      ["path", "/healthz", { type: "direct_response", status: 200, body: "ok\n" }],
      ["path", "/hello", { type: "direct_response", status: 200, body: "Hello from weft\n" }],
      ["prefix", "/echo", {
        type: "route",
        clusters: [{ name: "builtin_echo", weight: 1 }],
        totalWeight: 1,
        prefixRewrite: null,
        hostRewriteLiteral: null,
        timeoutMs: 15_000,
        upgradeConfigs: [],
      }],
      ["prefix", "/", {
        type: "route",
        clusters: [{ name: "builtin_echo", weight: 1 }],
        totalWeight: 1,
        prefixRewrite: null,
        hostRewriteLiteral: null,
        timeoutMs: 15_000,
        upgradeConfigs: [],
      }],
    ],
  );
  assert.deepEqual(model.clusters.map((c) => [c.name, c.type, c.endpoints]), [
    ["builtin_echo", "STATIC", [{ address: { address: "127.0.0.1", port: 10001 }, weight: 1 }]],
  ]);
});

test("parseBootstrap() applies Envoy's (and weft's) defaults to a minimal config", () => {
  const model = modelOf(withRoutes("- {match: {prefix: /}, route: {cluster: backend}}"));
  assert.equal(model.admin, null);
  assert.equal(model.statsFlushIntervalMs, 1000);
  assert.deepEqual(model.watchdog, {
    missTimeoutMs: 200,
    megamissTimeoutMs: 1000,
    killTimeoutMs: 0,
    multikillTimeoutMs: 0,
    multikillThresholdPercent: 0,
  });
  assert.equal(model.globalDownstreamMaxConnections, null);
  const [l] = model.listeners;
  assert.equal(l?.perConnectionBufferLimitBytes, 1024 * 1024);
  assert.equal(l?.maxConnections, null);
  const { statPrefix: _s, routeConfig, ...hcm } = hcmOf(l);
  assert.deepEqual(hcm, DEFAULT_HCM);
  assert.equal(routeConfig.name, "");
  assert.deepEqual(model.clusters, [{
    name: "backend",
    type: "STATIC",
    connectTimeoutMs: 5000,
    lbPolicy: "ROUND_ROBIN",
    dnsRefreshRateMs: 5000,
    endpoints: [],
  }]);
});

test("parseBootstrap() accepts an empty bootstrap (no admin, no listeners, no clusters)", () => {
  const model = modelOf("static_resources: {}\n");
  assert.deepEqual([model.admin, model.listeners, model.clusters], [null, [], []]);
});

test("parseBootstrap() reads JSON as well as YAML", () => {
  const json = JSON.stringify(
    {
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: 9901 } } },
      static_resources: {
        clusters: [{
          name: "c",
          connect_timeout: "1s",
          type: "LOGICAL_DNS",
          load_assignment: {
            cluster_name: "c",
            endpoints: [{
              lb_endpoints: [{
                endpoint: { address: { socket_address: { address: "example.com", port_value: 443 } } },
              }],
            }],
          },
        }],
      },
    },
    null,
    "\t",
  );
  const model = modelOf(json);
  assert.deepEqual(model.admin, { address: "127.0.0.1", port: 9901 });
  assert.deepEqual(model.clusters[0]?.endpoints, [{ address: { address: "example.com", port: 443 }, weight: 1 }]);
});

test("parseBootstrap() accepts protobuf JSON spellings: lowerCamelCase names, string integers, {seconds, nanos}", () => {
  const model = modelOf(yaml`
    statsFlushInterval: {seconds: 2, nanos: 500000000}
    admin:
      address:
        socketAddress: {address: "::", portValue: "9901"}
  `);
  assert.equal(model.statsFlushIntervalMs, 2500);
  assert.deepEqual(model.admin, { address: "::", port: 9901 });
});

test("parseBootstrap() follows YAML anchors, aliases and merge keys", () => {
  const model = modelOf(yaml`
    static_resources:
      clusters:
      - &base
        name: a
        connect_timeout: 2s
        lb_policy: RANDOM
      - <<: *base
        name: b
  `);
  assert.deepEqual(model.clusters.map((c) => [c.name, c.connectTimeoutMs, c.lbPolicy]), [
    ["a", 2000, "RANDOM"],
    ["b", 2000, "RANDOM"],
  ]);
});

test("parseBootstrap() reads the deprecated top-level watchdog", () => {
  const model = modelOf("watchdog: {miss_timeout: 0.3s, kill_timeout: 10s}\n");
  assert.deepEqual(model.watchdog, {
    missTimeoutMs: 300,
    megamissTimeoutMs: 1000,
    killTimeoutMs: 10_000,
    multikillTimeoutMs: 0,
    multikillThresholdPercent: 0,
  });
});

test("errors: multikill_threshold is a Percent from 0 to 100", () => {
  assert.deepEqual(errorsOf("watchdogs: {worker_watchdog: {multikill_timeout: 1s, multikill_threshold: {value: 120}}}\n"), [
    "envoy.yaml:1:83: watchdogs.worker_watchdog.multikill_threshold.value: must be a number from 0 to 100, got 120",
  ]);
});

test("parseBootstrap() treats null fields as unset, as protobuf JSON does", () => {
  const model = modelOf("admin:\nnode: ~\nstatic_resources:\n  listeners:\n");
  assert.deepEqual([model.admin, model.listeners], [null, []]);
});

test("parseBootstrap() allows listeners to share port 0 and a filter named by its @type", () => {
  const listener = (name: string) =>
    indent(
      yaml`
        - name: ${name}
          address: {socket_address: {address: 127.0.0.1, port_value: 0}}
          filter_chains:
          - filters:
            - name: hcm
              typed_config:
                "@type": ${HCM}
                stat_prefix: s
                route_config: {}
                http_filters: [{name: router, typed_config: {"@type": ${ROUTER}}}]
      `,
      2,
    );
  const model = modelOf(`static_resources:\n  listeners:\n${listener("a")}${listener("b")}`);
  assert.deepEqual(model.listeners.map((l) => [l.name, l.address.port]), [["a", 0], ["b", 0]]);
});

// ---------------------------------------------------------------------------------------------
// Invalid configurations: every error, exactly, with its path and position.

test("errors: a wrong type says what was expected and what was found", () => {
  assert.deepEqual(
    errorsOf(yaml`
      admin:
        address:
          socket_address:
            address: 127.0.0.1
            port_value: abc
    `),
    ['envoy.yaml:5:19: admin.address.socket_address.port_value: must be an integer from 0 to 65535, got "abc"'],
  );
});

test("errors: unknown fields are rejected with a suggestion, as Envoy rejects them", () => {
  assert.deepEqual(
    errorsOf(yaml`
      stats_flush_intervl: 1s
      static_resources:
        listeners: []
        xyz: 1
    `),
    [
      'envoy.yaml:1:1: unknown field "stats_flush_intervl"; did you mean "stats_flush_interval"?',
      'envoy.yaml:4:3: static_resources: unknown field "xyz"',
    ],
  );
});

test("errors: Envoy fields weft does not implement say so", () => {
  assert.deepEqual(
    errorsOf(yaml`
      admin:
        access_log_path: /dev/null
        address: {socket_address: {address: 127.0.0.1, port_value: 9901}}
      tracing:
        http: {}
      dynamic_resources: {}
    `),
    [
      "envoy.yaml:2:3: admin.access_log_path: is not supported yet by weft",
      "envoy.yaml:4:1: tracing: is not supported yet by weft",
      "envoy.yaml:6:1: dynamic_resources: is not supported yet by weft",
    ],
  );
});

test("errors: cluster fields weft gave no effect are refused (issue 17's audit)", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        clusters:
        - name: a
          per_connection_buffer_limit_bytes: 65536
          max_requests_per_connection: 100
    `),
    [
      "envoy.yaml:4:5: static_resources.clusters[0].per_connection_buffer_limit_bytes: is not supported yet by weft",
      "envoy.yaml:5:5: static_resources.clusters[0].max_requests_per_connection: is not supported yet by weft",
    ],
  );
});

test("errors: missing required fields point at the message that lacks them", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - address: {socket_address: {address: 127.0.0.1}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                route_config:
                  virtual_hosts:
                  - routes: []
                http_filters: [{name: envoy.filters.http.router}]
    `),
    [
      "envoy.yaml:3:31: static_resources.listeners[0].address.socket_address.port_value: is required",
      "envoy.yaml:8:11: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: is required",
      "envoy.yaml:11:15: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].name: is required",
      "envoy.yaml:11:15: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].domains: is required",
    ],
  );
});

test("errors: bad enum values list the valid ones; Envoy values weft lacks are 'not supported yet'", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        clusters:
        - name: a
          lb_policy: FASTEST
        - name: b
          lb_policy: MAGLEV
          type: EDS
    `),
    [
      'envoy.yaml:4:16: static_resources.clusters[0].lb_policy: must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG, got "FASTEST"',
      "envoy.yaml:6:16: static_resources.clusters[1].lb_policy: MAGLEV is not supported yet by weft (supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM)",
      "envoy.yaml:7:11: static_resources.clusters[1].type: EDS is not supported yet by weft (supported: STATIC, STRICT_DNS, LOGICAL_DNS)",
    ],
  );
});

test("errors: durations must be protobuf JSON durations within Envoy's bounds", () => {
  assert.deepEqual(
    errorsOf(yaml`
      stats_flush_interval: 300s
      static_resources:
        clusters:
        - {name: a, connect_timeout: 5}
        - {name: b, connect_timeout: "5ms"}
        - {name: c, connect_timeout: -1s}
        - {name: d, connect_timeout: 0s}
        - {name: e, dns_refresh_rate: 0.001s}
    `),
    [
      'envoy.yaml:1:23: stats_flush_interval: must be less than 300s, got "300s"',
      'envoy.yaml:4:32: static_resources.clusters[0].connect_timeout: must be a duration string such as "5s", got 5',
      'envoy.yaml:5:32: static_resources.clusters[1].connect_timeout: must be a duration in seconds such as "0.005s", got "5ms"',
      'envoy.yaml:6:32: static_resources.clusters[2].connect_timeout: must not be negative, got "-1s"',
      'envoy.yaml:7:32: static_resources.clusters[3].connect_timeout: must be greater than 0s, got "0s"',
      'envoy.yaml:8:33: static_resources.clusters[4].dns_refresh_rate: must be greater than 0.001s, got "0.001s"',
    ],
  );
});

test("errors: regexes are RE2: what RE2 rejects is refused with the reason; case_sensitive does not apply", () => {
  assert.deepEqual(
    errorsOf(withRoutes(yaml`
      - {match: {safe_regex: {regex: "/(a"}}, route: {cluster: backend}}
      - {match: {safe_regex: {regex: "/(?=a)"}}, route: {cluster: backend}}
      - {match: {safe_regex: {regex: "/(a)\\1"}}, route: {cluster: backend}}
      - {match: {safe_regex: {regex: "/a"}, case_sensitive: false}, route: {cluster: backend}}
      - match: {prefix: /, headers: [{name: x, safe_regex_match: {regex: "(?<!a)b"}}]}
        route: {cluster: backend}
    `)),
    [
      'envoy.yaml:16:46: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: must be a valid RE2 regular expression (missing closing ): `/(a`), got "/(a"',
      "envoy.yaml:17:46: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].match.safe_regex.regex: uses a lookaround assertion such as (?=…), which RE2 does not support",
      "envoy.yaml:18:46: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[2].match.safe_regex.regex: uses a backreference (\\1), which RE2 does not support",
      "envoy.yaml:19:69: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[3].match.case_sensitive: has no effect with safe_regex; write (?i) in the regex instead",
      "envoy.yaml:20:82: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[4].match.headers[0].safe_regex_match.regex: uses a lookaround assertion such as (?=…), which RE2 does not support",
    ],
  );
});

test("errors: a wrong @type URL names the expected one", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: l
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager
                stat_prefix: s
                route_config: {}
                http_filters:
                - name: envoy.filters.http.router
                  typed_config: {"@type": type.googleapis.com/envoy.config.filter.http.router.v2.Router}
    `),
    [
      'envoy.yaml:9:20: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type: must be "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", got "type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager"',
      'envoy.yaml:14:37: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.@type: must be "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", got "type.googleapis.com/envoy.config.filter.http.router.v2.Router"',
    ],
  );
});

test("errors: only the router HTTP filter, and it must be last", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: l
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: s
                route_config: {}
                http_filters:
                - name: envoy.filters.http.router
                - name: envoy.filters.http.cors
        - name: m
          address: {socket_address: {address: 127.0.0.1, port_value: 81}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: s
                route_config: {}
    `),
    [
      "envoy.yaml:13:13: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]: the router filter must be the last HTTP filter (Envoy treats it as terminal)",
      'envoy.yaml:14:19: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].name: HTTP filter "envoy.filters.http.cors" is not supported yet by weft (only envoy.filters.http.router)',
      "envoy.yaml:21:11: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.http_filters: must end with the router filter envoy.filters.http.router",
    ],
  );
});

test("errors: filter chains hold one network filter, match without TLS, differ in their matches, and exist", () => {
  const hcm = `{name: envoy.filters.network.http_connection_manager, typed_config: {"@type": ${HCM}, stat_prefix: s, route_config: {}, http_filters: [{name: envoy.filters.http.router}]}}`;
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: a
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          filter_chains: [{filters: []}, {filters: [{name: envoy.filters.network.echo}]}]
        - name: b
          address: {socket_address: {address: 127.0.0.1, port_value: 81}}
          filter_chains:
          - filter_chain_match: {server_names: [example.com], transport_protocol: tls}
            filters: [{name: envoy.filters.network.tcp_proxy, typed_config: {}}]
        - name: c
          address: {socket_address: {address: 127.0.0.1, port_value: 82}}
          filter_chains: []
        - name: d
          address: {socket_address: {address: 127.0.0.1, port_value: 83}}
          filter_chains:
          - {filter_chain_match: {destination_port: 83}, filters: [${hcm}]}
          - {filter_chain_match: {destination_port: 83}, filters: [${hcm}]}
    `),
    [
      "envoy.yaml:5:31: static_resources.listeners[0].filter_chains[0].filters: must contain the envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy filter",
      'envoy.yaml:5:54: static_resources.listeners[0].filter_chains[1].filters[0].name: network filter "envoy.filters.network.echo" is not supported yet by weft (only envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy)',
      "envoy.yaml:9:28: static_resources.listeners[1].filter_chains[0].filter_chain_match.server_names: is not supported yet by weft",
      'envoy.yaml:9:77: static_resources.listeners[1].filter_chains[0].filter_chain_match.transport_protocol: "tls" is not supported yet by weft: it needs the tls_inspector listener filter and TLS termination',
      "envoy.yaml:10:71: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.@type: is required",
      "envoy.yaml:10:71: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.stat_prefix: is required",
      "envoy.yaml:10:71: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.cluster: is required (or weighted_clusters)",
      "envoy.yaml:13:20: static_resources.listeners[2].filter_chains: must contain a filter chain (or set default_filter_chain)",
      "envoy.yaml:18:7: static_resources.listeners[3].filter_chains[1].filter_chain_match: has the same matching rules as static_resources.listeners[3].filter_chains[0]; a connection could not choose between them",
    ],
  );
});

test("errors: routes must name defined clusters", () => {
  assert.deepEqual(
    errorsOf(withRoutes(yaml`
      - {match: {prefix: /a}, route: {cluster: missing}}
      - match: {prefix: /}
        route: {weighted_clusters: {clusters: [{name: backend, weight: 1}, {name: gone, weight: 1}]}}
    `)),
    [
      'envoy.yaml:16:56: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster: names unknown cluster "missing"; define it in static_resources.clusters',
      'envoy.yaml:18:91: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].route.weighted_clusters.clusters[1].name: names unknown cluster "gone"; define it in static_resources.clusters',
    ],
  );
});

test("errors: weighted clusters must add up", () => {
  assert.deepEqual(
    errorsOf(withRoutes(yaml`
      - match: {prefix: /a}
        route: {weighted_clusters: {clusters: [{name: backend, weight: 30}], total_weight: 100}}
      - match: {prefix: /b}
        route: {weighted_clusters: {clusters: [{name: backend, weight: 0}]}}
      - match: {prefix: /c}
        route: {weighted_clusters: {clusters: []}}
    `)),
    [
      "envoy.yaml:17:100: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: must equal the sum of the cluster weights (30), got 100",
      "envoy.yaml:19:55: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].route.weighted_clusters.clusters: must have weights that sum to more than 0",
      "envoy.yaml:21:55: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[2].route.weighted_clusters.clusters: must list at least one cluster",
    ],
  );
});

test("errors: domains must be unique within a route configuration and use wildcards as Envoy does", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: l
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: s
                http_filters: [{name: envoy.filters.http.router}]
                route_config:
                  virtual_hosts:
                  - {name: a, domains: ["example.com", "*"]}
                  - {name: b, domains: ["Example.COM", "api.*.com", "*"]}
                  - {name: c, domains: []}
    `),
    [
      'envoy.yaml:15:35: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[1].domains[0]: duplicates "example.com" in virtual_hosts[0].domains[0]; domains must be unique within a route configuration',
      'envoy.yaml:15:50: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[1].domains[1]: may use one wildcard, as "*", "*.example.com" or "example.*", got "api.*.com"',
      'envoy.yaml:15:63: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[1].domains[2]: duplicates "*" in virtual_hosts[0].domains[1]; domains must be unique within a route configuration',
      "envoy.yaml:16:34: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[2].domains: must list at least one domain",
    ],
  );
});

test("errors: listener and cluster names, and listener addresses, must be unique", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - &listener
          name: l
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config: {"@type": "${HCM}", stat_prefix: s, route_config: {}, http_filters: [{name: envoy.filters.http.router}]}
        - *listener
        clusters:
        - {name: c}
        - {name: c, type: STRICT_DNS}
    `),
    [
      "envoy.yaml:4:11: static_resources.listeners[1].name: duplicates the name of static_resources.listeners[0]; listener names must be unique",
      "envoy.yaml:5:14: static_resources.listeners[1].address: duplicates the address 127.0.0.1:80 of static_resources.listeners[0]; listener addresses must be unique unless the port is 0",
      "envoy.yaml:13:12: static_resources.clusters[1].name: duplicates the name of static_resources.clusters[0]; cluster names must be unique",
    ],
  );
});

test("errors: STATIC clusters need IP addresses, LOGICAL_DNS exactly one endpoint, listeners an IP", () => {
  const endpoint = (address: string) =>
    `{endpoint: {address: {socket_address: {address: ${address}, port_value: 80}}}}`;
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        clusters:
        - name: s
          load_assignment:
            cluster_name: s
            endpoints: [{lb_endpoints: [${endpoint("backend.internal")}, ${endpoint("10.0.0.256")}]}]
        - name: l
          type: LOGICAL_DNS
          load_assignment:
            cluster_name: l
            endpoints: [{lb_endpoints: [${endpoint("a.internal")}, ${endpoint("b.internal")}]}]
        - name: d
          type: STRICT_DNS
          load_assignment:
            cluster_name: d
            endpoints: [{lb_endpoints: [${endpoint("http://x")}]}]
    `),
    [
      'envoy.yaml:6:83: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be an IP address such as 127.0.0.1 or ::1, got "backend.internal" (STATIC clusters take IP addresses; use STRICT_DNS for DNS names)',
      'envoy.yaml:6:169: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.address: must be an IP address such as 127.0.0.1 or ::1, got "10.0.0.256" (STATIC clusters take IP addresses; use STRICT_DNS for DNS names)',
      "envoy.yaml:11:18: static_resources.clusters[1].load_assignment.endpoints: must hold exactly one endpoint for a LOGICAL_DNS cluster, got 2",
      'envoy.yaml:16:83: static_resources.clusters[2].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be an IP address or a DNS name, got "http://x"',
    ],
  );
});

test("errors: a route has exactly one action, a match exactly one path specifier", () => {
  assert.deepEqual(
    errorsOf(withRoutes(yaml`
      - match: {prefix: /, path: /x}
        route: {cluster: backend}
      - match: {headers: []}
        route: {cluster: backend}
        direct_response: {status: 200}
      - match: {prefix: /}
    `)),
    [
      "envoy.yaml:16:24: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match: must set exactly one of prefix, path or safe_regex, got prefix and path",
      "envoy.yaml:18:17: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1]: must set exactly one of route, redirect or direct_response, got route and direct_response",
      "envoy.yaml:18:24: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].match: must set exactly one of prefix, path or safe_regex, got none",
      "envoy.yaml:21:17: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[2]: must set exactly one of route, redirect or direct_response, got none",
    ],
  );
});

test("errors: direct responses and redirects are checked", () => {
  assert.deepEqual(
    errorsOf(withRoutes(yaml`
      - match: {prefix: /a}
        direct_response: {status: 700, body: {filename: /etc/motd}}
      - match: {prefix: /b}
        redirect: {https_redirect: true, scheme_redirect: http, response_code: 302}
      - match: {prefix: /c}
        redirect: {path_redirect: /x, prefix_rewrite: /y, response_code: MOVED}
    `)),
    [
      "envoy.yaml:17:43: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].direct_response.status: must be an integer from 200 to 599, got 700",
      "envoy.yaml:17:55: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].direct_response.body.filename: is not supported yet by weft",
      "envoy.yaml:19:27: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].redirect: must set at most one of https_redirect or scheme_redirect",
      "envoy.yaml:19:88: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].redirect.response_code: must be one of MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, PERMANENT_REDIRECT, got 302",
      "envoy.yaml:21:27: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[2].redirect: must set at most one of path_redirect or prefix_rewrite",
      'envoy.yaml:21:82: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[2].redirect.response_code: must be one of MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, PERMANENT_REDIRECT, got "MOVED"',
    ],
  );
});

test("errors: header matchers take one matcher and a valid name", () => {
  assert.deepEqual(
    errorsOf(withRoutes(yaml`
      - match:
          prefix: /
          headers:
          - {name: x-a, exact_match: a, prefix_match: b}
          - {name: "bad name", present_match: true}
          - {name: x-c, string_match: {safe_regex: {regex: a}, ignore_case: true}}
          - {name: x-d, suffix_match: ""}
          - {name: x-e, range_match: {start: 1, end: 2}}
        route: {cluster: backend}
    `)),
    [
      "envoy.yaml:19:21: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.headers[0]: must set at most one of exact_match, prefix_match, suffix_match, contains_match, safe_regex_match, present_match, string_match, got exact_match and prefix_match",
      'envoy.yaml:20:28: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.headers[1].name: must be a valid header name, got "bad name"',
      "envoy.yaml:21:85: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.headers[2].string_match.ignore_case: has no effect with safe_regex; remove it",
      "envoy.yaml:22:47: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.headers[3].suffix_match: must not be empty",
      "envoy.yaml:23:33: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.headers[4].range_match: is not supported yet by weft",
    ],
  );
});

test("errors: HTTP connection manager limits follow Envoy's bounds", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: l
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          max_connections: 0
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: ""
                codec_type: HTTP2
                max_request_headers_kb: 9000
                common_http_protocol_options: {max_headers_count: 0, idle_timeout: 1h}
                use_remote_address: "true"
                xff_num_trusted_hops: -1
                strip_matching_host_port: true
                strip_any_host_port: true
                route_config: {}
                http_filters: [{name: envoy.filters.http.router}]
    `),
    [
      "envoy.yaml:5:22: static_resources.listeners[0].max_connections: must be an integer from 1 to 4294967295, got 0",
      "envoy.yaml:11:24: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: must not be empty",
      "envoy.yaml:12:23: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.codec_type: HTTP2 is not supported yet by weft (supported: AUTO, HTTP1)",
      "envoy.yaml:13:35: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.max_request_headers_kb: must be an integer from 1 to 8192, got 9000",
      "envoy.yaml:14:61: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.common_http_protocol_options.max_headers_count: must be an integer from 1 to 4294967295, got 0",
      'envoy.yaml:14:78: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.common_http_protocol_options.idle_timeout: must be a duration in seconds such as "3600s", got "1h"',
      'envoy.yaml:15:31: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.use_remote_address: must be true or false, got "true"',
      "envoy.yaml:16:33: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.xff_num_trusted_hops: must be an integer from 0 to 4294967295, got -1",
      "envoy.yaml:18:32: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.strip_any_host_port: only one of strip_matching_host_port or strip_any_host_port can be set (as in Envoy)",
    ],
  );
});

test("errors: internal_address_config takes IP ranges that fit their family, and no unix sockets", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: l
          address: {socket_address: {address: 127.0.0.1, port_value: 80}}
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: l
                internal_address_config:
                  unix_sockets: true
                  cidr_ranges:
                  - {address_prefix: 10.0.0.0, prefix_len: 33}
                  - {address_prefix: "2001:db8::", prefix_len: 129}
                  - {address_prefix: localhost, prefix_len: 8}
                  - {prefix_len: 8}
                  - {address: 10.0.0.0}
                route_config: {}
                http_filters: [{name: envoy.filters.http.router}]
    `),
    [
      "envoy.yaml:12:27: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.unix_sockets: true is not supported yet by weft: its listeners are TCP only (pipe addresses are not supported yet), so no client is a unix socket",
      "envoy.yaml:14:54: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.cidr_ranges[0].prefix_len: must be at most 32 for the IPv4 address 10.0.0.0, got 33",
      "envoy.yaml:15:58: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.cidr_ranges[1].prefix_len: must be an integer from 0 to 128, got 129",
      'envoy.yaml:16:32: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.cidr_ranges[2].address_prefix: must be an IP address such as 10.0.0.0 or fd00::, got "localhost"',
      "envoy.yaml:17:15: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.cidr_ranges[3].address_prefix: is required",
      "envoy.yaml:18:15: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.cidr_ranges[4].address_prefix: is required",
      'envoy.yaml:18:16: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.internal_address_config.cidr_ranges[4]: unknown field "address"',
    ],
  );
});

test("errors: watchdog and watchdogs are exclusive; overload manager takes one monitor", () => {
  assert.deepEqual(
    errorsOf(yaml`
      watchdog: {miss_timeout: 1s}
      watchdogs: {worker_watchdog: {miss_timeout: 1s}, main_thread_watchdog: {}}
      overload_manager:
        refresh_interval: 0.25s
        resource_monitors:
        - name: envoy.resource_monitors.fixed_heap
        - name: envoy.resource_monitors.global_downstream_max_connections
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
            max_active_downstream_connections: -5
    `),
    [
      "envoy.yaml:1:11: watchdog: must not be set together with watchdogs (it is their deprecated form)",
      "envoy.yaml:2:50: watchdogs.main_thread_watchdog: is not supported yet by weft",
      "envoy.yaml:4:3: overload_manager.refresh_interval: is not supported yet by weft",
      'envoy.yaml:6:11: overload_manager.resource_monitors[0].name: resource monitor "envoy.resource_monitors.fixed_heap" is not supported yet by weft (only envoy.resource_monitors.global_downstream_max_connections)',
      "envoy.yaml:10:42: overload_manager.resource_monitors[1].typed_config.max_active_downstream_connections: must be an integer from 1 to 9007199254740991, got -5",
    ],
  );
});

test("errors: YAML syntax errors carry their position and stop validation", () => {
  assert.deepEqual(errorsOf("admin:\n  address: {socket_address: {address: 127.0.0.1\nstatic_resources: 1\n"), [
    "envoy.yaml:3:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
  ]);
  assert.deepEqual(errorsOf("admin: {}\nadmin: {}\n"), ["envoy.yaml:2:1: invalid YAML: Map keys must be unique"]);
});

test("errors: an empty file or a document that is not a mapping", () => {
  const empty =
    "envoy.yaml: the configuration is empty; expected an Envoy bootstrap such as static_resources: {listeners: [...], clusters: [...]}";
  assert.deepEqual(errorsOf(""), [empty]);
  assert.deepEqual(errorsOf("# nothing here\n"), [empty]);
  assert.deepEqual(errorsOf("- static_resources: {}\n"), [
    "envoy.yaml:1:1: the configuration must be a mapping of bootstrap fields, got a list",
  ]);
  assert.deepEqual(errorsOf("static_resources: [listeners]\n"), [
    "envoy.yaml:1:19: static_resources: must be a mapping, got a list",
  ]);
});

test("errors: JSON input gets positions too", () => {
  assert.deepEqual(
    errorsOf(
      '{\n  "admin": {\n    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 70000}}\n  },\n  "statsFlushInterval": "1"\n}\n',
    ),
    [
      "envoy.yaml:3:74: admin.address.socket_address.port_value: must be an integer from 0 to 65535, got 70000",
      'envoy.yaml:5:25: stats_flush_interval: must be a duration such as "5s" or "0.25s", got "1"',
    ],
  );
});

test("errors: a field given both as snake_case and lowerCamelCase", () => {
  assert.deepEqual(errorsOf("stats_flush_interval: 1s\nstatsFlushInterval: 2s\n"), [
    'envoy.yaml:2:1: stats_flush_interval: is set twice (as "stats_flush_interval" and "statsFlushInterval")',
  ]);
});

test("errors: all errors of a config are collected, in source order", () => {
  const errors = errorsOf(yaml`
    static_resources:
      clusters:
      - name: a
        connect_timeout: 5
        lb_policy: NOPE
        load_assignment:
          endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: -1}}}}]}]
      - name: ""
        circuit_breakers: {}
    admin: {address: {pipe: {path: /tmp/admin.sock}}}
  `);
  assert.deepEqual(errors, [
    'envoy.yaml:4:22: static_resources.clusters[0].connect_timeout: must be a duration string such as "5s", got 5',
    'envoy.yaml:5:16: static_resources.clusters[0].lb_policy: must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG, got "NOPE"',
    "envoy.yaml:7:7: static_resources.clusters[0].load_assignment.cluster_name: is required",
    "envoy.yaml:7:105: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be an integer from 0 to 65535, got -1",
    "envoy.yaml:8:11: static_resources.clusters[1].name: must not be empty",
    "envoy.yaml:9:5: static_resources.clusters[1].circuit_breakers: is not supported yet by weft",
    "envoy.yaml:10:19: admin.address.pipe: is not supported yet by weft",
  ]);
});

test("RE2 syntax that JavaScript reads differently is accepted: (?P<name>), (?i), POSIX classes, \\A, \\pL", () => {
  const routes = hcmOf(modelOf(withRoutes(yaml`
      - {match: {safe_regex: {regex: "/(?P<id>[0-9]+)"}}, route: {cluster: backend}}
      - {match: {safe_regex: {regex: "/[[:alpha:]]+"}}, route: {cluster: backend}}
      - {match: {safe_regex: {regex: "(?i)/(?<id>[0-9]+)/[^/]*"}}, route: {cluster: backend}}
      - match: {prefix: /, headers: [{name: x, safe_regex_match: {regex: "\\A\\pL+\\z"}}]}
        route: {cluster: backend}
    `)).listeners[0]).routeConfig.virtualHosts[0]!.routes;
  assert.deepEqual(routes.map((r) => r.match.headers[0]?.value ?? r.match.value), [
    "/(?P<id>[0-9]+)",
    "/[[:alpha:]]+",
    "(?i)/(?<id>[0-9]+)/[^/]*",
    "\\A\\pL+\\z",
  ]);
});

test("errors: listener addresses are IPs; list elements are not null; LOGICAL_DNS needs its endpoint", () => {
  assert.deepEqual(
    errorsOf(yaml`
      static_resources:
        listeners:
        - name: l
          address: {socket_address: {address: localhost, port_value: 80, protocol: UDP}}
          filter_chains: [{filters: [{name: envoy.filters.network.http_connection_manager}]}]
        -
        clusters:
        - {name: dns, type: LOGICAL_DNS}
    `),
    [
      'envoy.yaml:4:41: static_resources.listeners[0].address.socket_address.address: must be an IP address such as 127.0.0.1 or ::1, got "localhost"',
      "envoy.yaml:4:78: static_resources.listeners[0].address.socket_address.protocol: UDP is not supported yet by weft (supported: TCP)",
      "envoy.yaml:5:32: static_resources.listeners[0].filter_chains[0].filters[0].typed_config: is required",
      "envoy.yaml:6:4: static_resources.listeners[1]: must not be null",
      "envoy.yaml:8:5: static_resources.clusters[0].load_assignment: must hold exactly one endpoint for a LOGICAL_DNS cluster, got 0",
    ],
  );
});

test("errors: a direct response body is limited to Envoy's 4096 bytes", () => {
  const body = "x".repeat(4097);
  assert.deepEqual(
    errorsOf(withRoutes(`- {match: {path: /big}, direct_response: {status: 200, body: {inline_string: ${body}}}}`)),
    [
      "envoy.yaml:16:92: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].direct_response.body.inline_string: must be at most 4096 bytes (Envoy's max_direct_response_body_size_bytes)",
    ],
  );
});

test("formatConfigError() leaves out what an error does not have", () => {
  assert.equal(
    formatConfigError({ path: "admin", line: 3, column: 5, message: "must be a mapping, got 1" }, "envoy.yaml"),
    "envoy.yaml:3:5: admin: must be a mapping, got 1",
  );
  assert.equal(formatConfigError({ path: "", line: 0, column: 0, message: "nothing" }, "-"), "-: nothing");
  assert.equal(formatConfigError({ path: "node", line: 0, column: 0, message: "odd" }, "a.json"), "a.json: node: odd");
});

test("layered_runtime: overload.global_downstream_max_connections sets the global limit unless the overload manager does (Envoy's precedence)", () => {
  const runtime = "layered_runtime: {layers: [{name: s, static_layer: {overload: {global_downstream_max_connections: 50}}}]}\n";
  const base = withRoutes("- {match: {prefix: /}, direct_response: {status: 200}}", "[]");
  const fromRuntime = modelOf(base + runtime);
  assert.equal(fromRuntime.globalDownstreamMaxConnections, 50);
  assert.deepEqual(fromRuntime.runtime, { layers: [{ name: "s", entries: { "overload.global_downstream_max_connections": "50" } }], unknownKeys: [] });
  const monitor = yaml`
    overload_manager:
      resource_monitors:
      - name: envoy.resource_monitors.global_downstream_max_connections
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
          max_active_downstream_connections: 7
  `;
  assert.equal(modelOf(base + runtime + monitor).globalDownstreamMaxConnections, 7);
  assert.equal(modelOf(base).globalDownstreamMaxConnections, null);
});
