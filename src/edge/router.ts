/**
 * Route selection as Envoy does it: pick the virtual host by Host (exact, then the longest `*.suffix`
 * wildcard, then the longest `prefix*` wildcard, then `*`), then the first route whose match holds.
 *
 * @example
 * ```ts
 * const router = new Router(httpConnectionManager.routeConfig);
 * router.match("example.com", "/api/x?y=1", ["x-canary", "1"]); // { virtualHost, route } or null
 * ```
 * @module
 */
import type { HeaderMatcher, Route, RouteConfig, VirtualHost } from "../config/types.ts";
import { compileRegex, type Re2Regex } from "../config/regex.ts";

interface CompiledHeader {
  name: string;
  test: (value: string | undefined) => boolean;
}

export interface CompiledRoute {
  route: Route;
  /** A label for the inspector: the route name, else its match. */
  label: string;
  matchPath: (path: string, pathNoQuery: string) => boolean;
  headers: CompiledHeader[];
}

export interface CompiledVirtualHost {
  virtualHost: VirtualHost;
  routes: CompiledRoute[];
}

export interface RouteMatchResult {
  virtualHost: CompiledVirtualHost;
  route: CompiledRoute;
}

export class Router {
  private exact = new Map<string, CompiledVirtualHost>();
  private suffixes: [string, CompiledVirtualHost][] = [];
  private prefixes: [string, CompiledVirtualHost][] = [];
  private any: CompiledVirtualHost | null = null;

  constructor(config: RouteConfig) {
    for (const vh of config.virtualHosts) {
      const compiled = { virtualHost: vh, routes: vh.routes.map(compileRoute) };
      for (const d of vh.domains) {
        const domain = d.toLowerCase();
        if (domain === "*") this.any = compiled;
        else if (domain.startsWith("*")) this.suffixes.push([domain.slice(1), compiled]);
        else if (domain.endsWith("*")) this.prefixes.push([domain.slice(0, -1), compiled]);
        else this.exact.set(domain, compiled);
      }
    }
    // Longest wildcard first, as Envoy searches.
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  virtualHostFor(host: string | null): CompiledVirtualHost | null {
    const h = (host ?? "").toLowerCase();
    const exact = this.exact.get(h);
    if (exact) return exact;
    for (const [suffix, vh] of this.suffixes) if (h.length > suffix.length && h.endsWith(suffix)) return vh;
    for (const [prefix, vh] of this.prefixes) if (h.length > prefix.length && h.startsWith(prefix)) return vh;
    return this.any;
  }

  /** `path` is the full request path with its query; `headers` the flat lower-cased list. */
  match(host: string | null, path: string, headers: string[]): RouteMatchResult | null {
    const vh = this.virtualHostFor(host);
    if (vh === null) return null;
    const q = path.indexOf("?");
    const pathNoQuery = q < 0 ? path : path.slice(0, q);
    for (const route of vh.routes) {
      if (!route.matchPath(path, pathNoQuery)) continue;
      if (route.headers.length > 0 && !headersMatch(route.headers, headers)) continue;
      return { virtualHost: vh, route };
    }
    return null;
  }
}

/**
 * The Host a request is routed and forwarded with after the HCM's `strip_trailing_host_dot`
 * (`example.com.:80` → `example.com:80`) and `strip_matching_host_port` (the port removed when it
 * is `listenerPort`) or `strip_any_host_port`, as Envoy's `HeaderUtility` does them. A CONNECT keeps
 * its port. Envoy's defaults strip nothing: `name:port` and `name.` do not match a domain `name`.
 *
 * @example
 * ```ts
 * normalizeHost("Example.com.:8080", true, "matching", 8080, false); // "Example.com"
 * ```
 */
export function normalizeHost(
  host: string,
  stripTrailingDot: boolean,
  stripPort: "none" | "matching" | "any",
  listenerPort: number,
  isConnect: boolean,
): string {
  let portStart = portStartOf(host);
  if (stripTrailingDot) {
    const dot = (portStart < 0 ? host.length : portStart) - 1;
    if (dot > 0 && host.charCodeAt(dot) === 0x2e) {
      host = host.slice(0, dot) + host.slice(dot + 1);
      if (portStart >= 0) portStart--;
    }
  }
  if (stripPort !== "none" && portStart >= 0 && !isConnect) {
    const port = Number.parseInt(host.slice(portStart + 1), 10);
    if (Number.isInteger(port) && (stripPort === "any" || port === listenerPort)) host = host.slice(0, portStart);
  }
  return host;
}

/** Where the `:port` of an authority starts (an IPv6 literal's colons are inside brackets), or -1. */
function portStartOf(host: string): number {
  const colon = host.lastIndexOf(":");
  if (colon < 0) return -1;
  const bracket = host.lastIndexOf("]");
  return bracket < colon ? colon : -1;
}

function headersMatch(matchers: CompiledHeader[], headers: string[]): boolean {
  for (const m of matchers) {
    // Envoy joins repeated headers with "," before matching.
    let value: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === m.name) value = value === undefined ? headers[i + 1]! : `${value},${headers[i + 1]}`;
    }
    if (!m.test(value)) return false;
  }
  return true;
}

function compileRoute(route: Route): CompiledRoute {
  const m = route.match;
  const value = m.caseSensitive ? m.value : m.value.toLowerCase();
  const norm = (s: string) => (m.caseSensitive ? s : s.toLowerCase());
  let matchPath: CompiledRoute["matchPath"];
  switch (m.kind) {
    case "prefix":
      // Envoy matches a prefix against :path including the query string.
      matchPath = (path) => norm(path).startsWith(value);
      break;
    case "path":
      matchPath = (_path, noQuery) => norm(noQuery) === value;
      break;
    case "regex": {
      // RE2 full match of the path without its query, in linear time; case_sensitive does not
      // apply (Envoy ignores it for safe_regex, so the parser refuses it there).
      const re = compiledRegex(m.value);
      matchPath = (_path, noQuery) => re.fullMatch(noQuery);
      break;
    }
  }
  const label = route.name || `${m.kind}:${m.value}`;
  return { route, label, matchPath, headers: m.headers.map(compileHeader) };
}

function compileHeader(h: HeaderMatcher): CompiledHeader {
  const fold = (s: string) => (h.ignoreCase ? s.toLowerCase() : s);
  const v = fold(h.value);
  let test: (value: string) => boolean;
  switch (h.kind) {
    case "exact":
      test = (x) => fold(x) === v;
      break;
    case "prefix":
      test = (x) => fold(x).startsWith(v);
      break;
    case "suffix":
      test = (x) => fold(x).endsWith(v);
      break;
    case "contains":
      test = (x) => fold(x).includes(v);
      break;
    case "regex": {
      const re = compiledRegex(h.value);
      test = (x) => re.fullMatch(x);
      break;
    }
    case "present":
      test = () => true;
      break;
  }
  return {
    name: h.name,
    // A missing header never matches a value matcher; invert flips the whole result (Envoy's invert_match).
    test: (value) => (value === undefined ? false : test(value)) !== h.invert,
  };
}

/** A regex the config parser already accepted (so compiling cannot fail here). */
function compiledRegex(source: string): Re2Regex {
  const re = compileRegex(source);
  if (typeof re === "string") throw new Error(`regex ${JSON.stringify(source)} passed validation but ${re}`);
  return re;
}
