/**
 * The configuration `weft proxy serve` runs when no `-c` is given.
 *
 * @module
 */

/**
 * The embedded default bootstrap: an Envoy v3 static config with the admin API on
 * 127.0.0.1:9901 and one listener on 127.0.0.1:10000 that answers `/healthz` and `/hello` itself
 * and proxies everything else to `builtin_echo`, a small echo upstream weft starts on
 * 127.0.0.1:10001 when it runs this config. It doubles as a commented example envoy.yaml.
 *
 * @example Start from the default and change it
 * ```ts
 * import { DEFAULT_BOOTSTRAP_YAML, parseBootstrap } from "./bootstrap.ts";
 *
 * const result = parseBootstrap(DEFAULT_BOOTSTRAP_YAML);
 * // result.ok === true; result.bootstrap.listeners[0].address → { address: "127.0.0.1", port: 10000 }
 * ```
 */
export const DEFAULT_BOOTSTRAP_YAML = `# weft's built-in configuration: what \`weft proxy serve\` runs without -c.
# It is a plain Envoy v3 static bootstrap, so it is also a starting point for
# your own envoy.yaml: copy it, edit it, and run \`weft proxy serve -c envoy.yaml\`.

# The admin API (/stats, /clusters, /config_dump, /server_info, ...), which is
# also what weft's inspector attaches to. Keep it on loopback: whoever can
# reach it can drain the proxy.
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }

# How often counters and gauges are latched for the admin API and the inspector.
# Envoy's default is 5s; weft's is 1s so the inspector feels live.
stats_flush_interval: 1s

static_resources:
  listeners:
  - name: main
    address:
      socket_address: { address: 127.0.0.1, port_value: 10000 }
    filter_chains:
    - filters:
      # weft speaks HTTP/1.1 through Envoy's HTTP connection manager.
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          # Stats for this listener are named http.ingress_http.*
          stat_prefix: ingress_http
          codec_type: AUTO
          # An edge proxy: the peer is the client, appended to x-forwarded-for (Envoy's default,
          # false, is for a proxy behind another one that already set it).
          use_remote_address: true
          # No client is internal (Envoy's default since 1.33): internal clients get
          # x-envoy-internal and may set x-envoy-* fields such as retry and timeout
          # overrides. Loopback is not trusted here on purpose: every client of this
          # listener is a local program, and a proxy on this host relaying outside
          # traffic without x-forwarded-for would make that traffic internal too. To
          # trust your own networks, list them:
          #   internal_address_config:
          #     cidr_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 }]
          route_config:
            name: local_route
            virtual_hosts:
            - name: local_service
              domains: ["*"]          # any Host header
              routes:
              # Answered by the proxy itself: a health check for load balancers...
              - name: healthz
                match: { path: /healthz }
                direct_response:
                  status: 200
                  body: { inline_string: "ok\\n" }
              # ...and a greeting to check the proxy is up.
              - name: hello
                match: { path: /hello }
                direct_response:
                  status: 200
                  body: { inline_string: "Hello from weft\\n" }
              # Proxied upstream: /echo and everything else go to the echo server,
              # which replies with the request it received.
              - name: echo
                match: { prefix: /echo }
                route: { cluster: builtin_echo }
              - name: default
                match: { prefix: / }
                route: { cluster: builtin_echo, timeout: 15s }
          # The router sends requests to the route's cluster; it must be the last filter.
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

  clusters:
  # A small echo server weft starts itself when it runs this default config.
  - name: builtin_echo
    type: STATIC
    connect_timeout: 0.25s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: builtin_echo
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: 10001 }
`;
