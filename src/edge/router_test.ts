import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBootstrap } from "../config/mod.ts";
import { normalizeHost, Router } from "./router.ts";

function router(vhosts: string): Router {
  const r = parseBootstrap(`
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          route_config:
            virtual_hosts:${vhosts}
          http_filters: [{ name: envoy.filters.http.router }]
`);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.errors));
  const chain = r.bootstrap.listeners[0]!.filterChains[0]!;
  assert.ok(chain.kind === "http");
  return new Router(chain.http.routeConfig);
}

const d = (body: string) => `\n                direct_response: { status: 200, body: { inline_string: ${body} } }`;

test("virtual hosts: exact, then longest suffix wildcard, then prefix wildcard, then *", () => {
  const r = router(`
            - { name: exact, domains: ["api.example.com"], routes: [{ match: { prefix: "/" },${d("x")} }] }
            - { name: suffix, domains: ["*.example.com"], routes: [{ match: { prefix: "/" },${d("x")} }] }
            - { name: longer, domains: ["*.b.example.com"], routes: [{ match: { prefix: "/" },${d("x")} }] }
            - { name: prefix, domains: ["api.*"], routes: [{ match: { prefix: "/" },${d("x")} }] }
            - { name: any, domains: ["*"], routes: [{ match: { prefix: "/" },${d("x")} }] }`);
  const vh = (host: string) => r.match(host, "/", [])!.virtualHost.virtualHost.name;
  assert.equal(vh("api.example.com"), "exact");
  assert.equal(vh("API.Example.com"), "exact");
  assert.equal(vh("www.example.com"), "suffix");
  assert.equal(vh("a.b.example.com"), "longer");
  assert.equal(vh("api.other.org"), "prefix");
  assert.equal(vh("elsewhere"), "any");
  // Envoy matches the Host with its port: "api.example.com:80" is not the exact domain.
  assert.equal(vh("api.example.com:80"), "prefix");
});

test("routes: first match wins; prefix sees the query, path and regex do not", () => {
  const r = router(`
            - name: all
              domains: ["*"]
              routes:
              - name: exact
                match: { path: "/p" }${d("x")}
              - name: regex
                match: { safe_regex: { regex: "/r/[0-9]+" } }${d("x")}
              - name: header
                match: { prefix: "/h", headers: [{ name: X-Canary, string_match: { prefix: "yes" } }] }${d("x")}
              - name: absent
                match: { prefix: "/h", headers: [{ name: x-canary, present_match: false }] }${d("x")}
              - name: nocase
                match: { prefix: "/CI", case_sensitive: false }${d("x")}
              - name: query
                match: { prefix: "/q?a=1" }${d("x")}`);
  const name = (path: string, headers: string[] = []) => r.match("h", path, headers)?.route.route.name ?? null;
  assert.equal(name("/p"), "exact");
  assert.equal(name("/p?x=1"), "exact");
  assert.equal(name("/p/"), null);
  assert.equal(name("/r/42"), "regex");
  assert.equal(name("/r/42x"), null);
  assert.equal(name("/h", ["x-canary", "yes-please"]), "header");
  assert.equal(name("/h", ["x-canary", "no"]), null);
  assert.equal(name("/h"), "absent");
  assert.equal(name("/ci/thing"), "nocase");
  assert.equal(name("/q?a=1&b"), "query");
});

test("regex routes and header matchers run on RE2: RE2 syntax, and linear time on a 60 KiB path", () => {
  const r = router(`
            - name: all
              domains: ["*"]
              routes:
              - name: nested
                match: { safe_regex: { regex: "/(a+)+$" } }${d("x")}
              - name: inline-flag
                match: { safe_regex: { regex: "(?i)/API/(?P<v>v[0-9]+)" } }${d("x")}
              - name: header
                match: { prefix: "/h", headers: [{ name: x-id, safe_regex_match: { regex: "(x+x+)+y" } }] }${d("x")}`);
  const name = (path: string, headers: string[] = []) => r.match("h", path, headers)?.route.route.name ?? null;
  assert.equal(name("/api/V2"), "inline-flag");
  const long = `/${"a".repeat(60 * 1024)}`;
  const started = performance.now();
  // A backtracking engine tries 2^61440 ways to split the a's before it gives up on the "!".
  assert.equal(name(`${long}!`), null);
  assert.equal(name(long), "nested");
  assert.equal(name("/h", ["x-id", `${"x".repeat(60 * 1024)}`]), null);
  assert.equal(name("/h", ["x-id", "xxy"]), "header");
  assert.ok(performance.now() - started < 2000, `${(performance.now() - started).toFixed(0)} ms`);
});

test("normalizeHost() strips as Envoy's strip_trailing_host_dot / strip_*_host_port, nothing by default", () => {
  assert.equal(normalizeHost("api.example.com:8080", false, "none", 8080, false), "api.example.com:8080");
  assert.equal(normalizeHost("api.example.com.", false, "none", 8080, false), "api.example.com.");
  assert.equal(normalizeHost("api.example.com.", true, "none", 8080, false), "api.example.com");
  assert.equal(normalizeHost("api.example.com.:8080", true, "none", 8080, false), "api.example.com:8080");
  assert.equal(normalizeHost("api.example.com.:8080", true, "matching", 8080, false), "api.example.com");
  assert.equal(normalizeHost("api.example.com:9090", false, "matching", 8080, false), "api.example.com:9090");
  assert.equal(normalizeHost("api.example.com:9090", false, "any", 8080, false), "api.example.com");
  assert.equal(normalizeHost("[::1]:9090", false, "any", 8080, false), "[::1]");
  assert.equal(normalizeHost("[::1]", false, "any", 8080, false), "[::1]");
  // CONNECT's authority keeps its port (Envoy restores it); a lone dot is not a trailing one.
  assert.equal(normalizeHost("api.example.com:443", false, "any", 8080, true), "api.example.com:443");
  assert.equal(normalizeHost(".", true, "none", 8080, false), ".");
  // With the defaults, name:port and name. do not match a virtual host for name (Envoy's FAQ "Why is my route not found?").
  const r = router(`
            - { name: api, domains: ["api.example.com"], routes: [{ match: { prefix: "/" },${d("api")} }] }
            - { name: rest, domains: ["*"], routes: [{ match: { prefix: "/" },${d("rest")} }] }`);
  assert.equal(r.virtualHostFor("api.example.com:80")!.virtualHost.name, "rest");
  assert.equal(r.virtualHostFor("api.example.com.")!.virtualHost.name, "rest");
  assert.equal(r.virtualHostFor(normalizeHost("API.example.com.:80", true, "any", 80, false))!.virtualHost.name, "api");
});

test("header matchers: each Envoy form, invert_match and ignore_case (issue 17's audit)", () => {
  const r = router(`
            - name: all
              domains: ["*"]
              routes:
              - name: exact
                match: { prefix: "/", headers: [{ name: x-exact, exact_match: "v1" }] }${d("x")}
              - name: prefix
                match: { prefix: "/", headers: [{ name: x-prefix, prefix_match: "ab" }] }${d("x")}
              - name: suffix
                match: { prefix: "/", headers: [{ name: x-suffix, suffix_match: "yz" }] }${d("x")}
              - name: contains
                match: { prefix: "/", headers: [{ name: x-contains, contains_match: "mid" }] }${d("x")}
              - name: string-suffix-nocase
                match: { prefix: "/", headers: [{ name: x-s, string_match: { suffix: ".EXAMPLE", ignore_case: true } }] }${d("x")}
              - name: string-contains
                match: { prefix: "/", headers: [{ name: x-c, string_match: { contains: "Needle" } }] }${d("x")}
              - name: inverted
                match: { prefix: "/", headers: [{ name: x-env, exact_match: "prod", invert_match: true }] }${d("x")}`);
  const name = (headers: string[]) => r.match("h", "/", [...headers, "x-env", "prod"])?.route.route.name ?? null;
  assert.equal(name(["x-exact", "v1"]), "exact");
  assert.equal(name(["x-exact", "v12"]), null);
  assert.equal(name(["x-prefix", "abc"]), "prefix");
  assert.equal(name(["x-suffix", "xyz"]), "suffix");
  assert.equal(name(["x-contains", "a-mid-b"]), "contains");
  assert.equal(name(["x-s", "www.example"]), "string-suffix-nocase");
  assert.equal(name(["x-c", "hayNeedlehay"]), "string-contains");
  assert.equal(name(["x-c", "hayneedlehay"]), null, "contains is case-sensitive without ignore_case");
  // invert_match: x-env: prod does not match, anything else (or absent: Envoy's invert of a miss) does.
  assert.equal(r.match("h", "/", ["x-env", "prod"])?.route.route.name ?? null, null);
  assert.equal(r.match("h", "/", ["x-env", "staging"])?.route.route.name, "inverted");
});
