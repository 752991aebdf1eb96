/**
 * `envoy.config.route.v3.RouteConfiguration`: virtual hosts, their domains, and routes with their
 * matches and actions.
 *
 * @module
 */

import { isSeq } from "yaml";
import * as F from "./envoy_fields.ts";
import type { Message, Reader } from "./reader.ts";
import { UINT32_MAX } from "./reader.ts";
import { checkRegex } from "./regex.ts";
import type {
  ClusterRouteAction,
  DirectResponseAction,
  HeaderMatcher,
  RedirectAction,
  Route,
  RouteAction,
  RouteConfig,
  RouteMatch,
  UpgradeConfig,
  VirtualHost,
} from "./types.ts";
import type { YamlNode } from "./yaml_source.ts";

/** A route's reference to a cluster, checked once all clusters are known. */
export interface ClusterReference {
  cluster: string;
  path: string;
  node: YamlNode;
}

/** Envoy's default `max_direct_response_body_size_bytes`. */
const MAX_DIRECT_RESPONSE_BODY_BYTES = 4096;

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

const REDIRECT_CODES = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
} as const;

/**
 * Reads a `route_config`; cluster names the routes use are appended to `refs`.
 *
 * @example Read the route_config of an HTTP connection manager
 * ```ts
 * import { readRouteConfig, type ClusterReference } from "./route_config.ts";
 * const refs: ClusterReference[] = [];
 * // const routeConfig = readRouteConfig(hcmMessage.message("route_config", ROUTE_CONFIGURATION)!, refs);
 * ```
 */
export function readRouteConfig(rc: Message, refs: ClusterReference[]): RouteConfig {
  const seenDomains = new Map<string, string>();
  const virtualHosts: VirtualHost[] = [];
  for (const item of rc.list("virtual_hosts")) {
    const vh = rc.reader.message(item.node, item.path, F.VIRTUAL_HOST);
    if (vh === undefined) continue;
    const name = vh.string("name", { required: true }) ?? "";
    const domains = readDomains(vh, seenDomains);
    const routes: Route[] = [];
    for (const r of vh.list("routes")) {
      const route = readRoute(rc.reader, r.node, r.path, refs);
      if (route !== undefined) routes.push(route);
    }
    virtualHosts.push({ name, domains, routes });
  }
  return { name: rc.string("name") ?? "", virtualHosts };
}

/** Domains, lower-cased; wildcards only as `*`, `*suffix` or `prefix*`; unique in the route config. */
function readDomains(vh: Message, seen: Map<string, string>): string[] {
  if (!vh.require("domains")) return [];
  const node = vh.get("domains");
  const items = vh.list("domains");
  if (isSeq(node) && items.length === 0) vh.reader.error(vh.at("domains"), node, "must list at least one domain");
  const domains: string[] = [];
  for (const item of items) {
    const raw = vh.reader.string(item.node, item.path);
    if (raw === undefined) continue;
    const domain = raw.toLowerCase();
    const stars = domain.split("*").length - 1;
    if (domain === "") {
      vh.reader.error(item.path, item.node, "must not be empty");
    } else if (/\s/.test(domain)) {
      vh.reader.error(item.path, item.node, `must not contain whitespace, got ${JSON.stringify(raw)}`);
    } else if (domain !== "*" && (stars > 1 || (stars === 1 && !domain.startsWith("*") && !domain.endsWith("*")))) {
      vh.reader.error(
        item.path,
        item.node,
        `may use one wildcard, as "*", "*.example.com" or "example.*", got ${JSON.stringify(raw)}`,
      );
    } else {
      const first = seen.get(domain);
      if (first !== undefined) {
        vh.reader.error(
          item.path,
          item.node,
          `duplicates ${JSON.stringify(domain)} in ${first}; domains must be unique within a route configuration`,
        );
      } else {
        seen.set(domain, item.path.replace(/^.*\.(virtual_hosts\[\d+\])/, "$1"));
      }
      domains.push(domain);
    }
  }
  return domains;
}

function readRoute(r: Reader, node: YamlNode, path: string, refs: ClusterReference[]): Route | undefined {
  const route = r.message(node, path, F.ROUTE);
  if (route === undefined) return undefined;
  const name = route.string("name") ?? "";
  const match = route.require("match") ? readMatch(route.message("match", F.ROUTE_MATCH)) : undefined;
  const actions = ["route", "redirect", "direct_response"].filter((a) => route.has(a));
  let action: RouteAction | undefined;
  if (actions.length === 0 && route.rejected) {
    // e.g. filter_action, already reported as not supported
  } else if (actions.length !== 1) {
    const got = actions.length === 0 ? "none" : actions.join(" and ");
    r.error(path, route.node, `must set exactly one of route, redirect or direct_response, got ${got}`);
  } else if (actions[0] === "route") {
    action = readRouteAction(route.message("route", F.ROUTE_ACTION), refs);
  } else if (actions[0] === "redirect") {
    action = readRedirect(route.message("redirect", F.REDIRECT));
  } else {
    action = readDirectResponse(route.message("direct_response", F.DIRECT_RESPONSE));
  }
  return match === undefined || action === undefined ? undefined : { name, match, action };
}

function readMatch(m: Message | undefined): RouteMatch | undefined {
  if (m === undefined) return undefined;
  const kinds = ["prefix", "path", "safe_regex"].filter((k) => m.has(k));
  const caseSensitive = m.bool("case_sensitive") ?? true;
  const headers: HeaderMatcher[] = [];
  for (const item of m.list("headers")) {
    const h = readHeaderMatcher(m.reader.message(item.node, item.path, F.HEADER_MATCHER));
    if (h !== undefined) headers.push(h);
  }
  if (kinds.length !== 1) {
    const got = kinds.length === 0 ? "none" : kinds.join(" and ");
    if (kinds.length > 0 || !m.rejected) {
      m.reader.error(m.path, m.node, `must set exactly one of prefix, path or safe_regex, got ${got}`);
    }
    return undefined;
  }
  const kind = kinds[0];
  if (kind === "safe_regex" && m.has("case_sensitive")) {
    // Envoy ignores case_sensitive for safe_regex; a field that does nothing is refused.
    m.reader.error(m.at("case_sensitive"), m.get("case_sensitive") ?? m.node, "has no effect with safe_regex; write (?i) in the regex instead");
    return undefined;
  }
  const value = kind === "safe_regex" ? readRegex(m.message("safe_regex", F.REGEX_MATCHER)) : m.string(kind ?? "");
  if (value === undefined) return undefined;
  return { kind: kind === "safe_regex" ? "regex" : kind === "path" ? "path" : "prefix", value, caseSensitive, headers };
}

/** A `RegexMatcher`: the regex source, checked to compile with RE2 syntax. */
function readRegex(m: Message | undefined): string | undefined {
  if (m === undefined) return undefined;
  m.message("google_re2", F.GOOGLE_RE2);
  const source = m.string("regex", { required: true });
  if (source === undefined) return undefined;
  const problem = checkRegex(source);
  if (problem !== null) {
    m.reader.error(m.at("regex"), m.get("regex") ?? m.node, problem);
    return undefined;
  }
  return source;
}

const HEADER_KINDS = {
  exact_match: "exact",
  prefix_match: "prefix",
  suffix_match: "suffix",
  contains_match: "contains",
  safe_regex_match: "regex",
  present_match: "present",
  string_match: "string",
} as const;

const STRING_KINDS = {
  exact: "exact",
  prefix: "prefix",
  suffix: "suffix",
  contains: "contains",
  safe_regex: "regex",
} as const;

function readHeaderMatcher(h: Message | undefined): HeaderMatcher | undefined {
  if (h === undefined) return undefined;
  const rawName = h.string("name", { required: true });
  if (rawName !== undefined && !/^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(rawName)) {
    h.reader.error(
      h.at("name"),
      h.get("name") ?? h.node,
      `must be a valid header name, got ${JSON.stringify(rawName)}`,
    );
  }
  const invertMatch = h.bool("invert_match") ?? false;
  const set = (Object.keys(HEADER_KINDS) as (keyof typeof HEADER_KINDS)[]).filter((k) => h.has(k));
  if (set.length > 1) {
    h.reader.error(
      h.path,
      h.node,
      `must set at most one of ${Object.keys(HEADER_KINDS).join(", ")}, got ${set.join(" and ")}`,
    );
    return undefined;
  }
  const field = set[0];
  let matcher: { kind: HeaderMatcher["kind"]; value: string; invert: boolean; ignoreCase: boolean } | undefined;
  if (field === undefined) {
    matcher = { kind: "present", value: "", invert: false, ignoreCase: false };
  } else if (field === "present_match") {
    const present = h.bool(field);
    matcher = present === undefined ? undefined : { kind: "present", value: "", invert: !present, ignoreCase: false };
  } else if (field === "string_match") {
    matcher = readStringMatcher(h.message(field, F.STRING_MATCHER));
  } else if (field === "safe_regex_match") {
    const value = readRegex(h.message(field, F.REGEX_MATCHER));
    matcher = value === undefined ? undefined : { kind: "regex", value, invert: false, ignoreCase: false };
  } else {
    const value = h.string(field, { nonEmpty: field !== "exact_match" });
    matcher = value === undefined ? undefined : { kind: HEADER_KINDS[field], value, invert: false, ignoreCase: false };
  }
  if (matcher === undefined || rawName === undefined) return undefined;
  return { name: rawName.toLowerCase(), ...matcher, invert: matcher.invert !== invertMatch };
}

function readStringMatcher(s: Message | undefined) {
  if (s === undefined) return undefined;
  const set = (Object.keys(STRING_KINDS) as (keyof typeof STRING_KINDS)[]).filter((k) => s.has(k));
  const ignoreCase = s.bool("ignore_case") ?? false;
  if (set.length !== 1) {
    const got = set.length === 0 ? "none" : set.join(" and ");
    s.reader.error(s.path, s.node, `must set exactly one of exact, prefix, suffix, contains or safe_regex, got ${got}`);
    return undefined;
  }
  const field = set[0] as keyof typeof STRING_KINDS;
  if (field === "safe_regex") {
    if (ignoreCase) {
      s.reader.error(s.at("ignore_case"), s.get("ignore_case") ?? s.node, "has no effect with safe_regex; remove it");
    }
    const value = readRegex(s.message(field, F.REGEX_MATCHER));
    return value === undefined || ignoreCase ? undefined : { kind: "regex" as const, value, invert: false, ignoreCase };
  }
  const value = s.string(field, { nonEmpty: field !== "exact" });
  return value === undefined ? undefined : { kind: STRING_KINDS[field], value, invert: false, ignoreCase };
}

function readRouteAction(a: Message | undefined, refs: ClusterReference[]): ClusterRouteAction | undefined {
  if (a === undefined) return undefined;
  const prefixRewrite = a.string("prefix_rewrite") ?? null;
  const hostRewriteLiteral = a.string("host_rewrite_literal") ?? null;
  const timeoutMs = a.duration("timeout", { min: 0 }) ?? DEFAULT_ROUTE_TIMEOUT_MS;
  const specifiers = ["cluster", "weighted_clusters"].filter((k) => a.has(k));
  if (specifiers.length !== 1) {
    const got = specifiers.length === 0 ? "none" : specifiers.join(" and ");
    if (specifiers.length === 0 && a.rejected) return undefined;
    a.reader.error(a.path, a.node, `must set exactly one of cluster or weighted_clusters, got ${got}`);
    return undefined;
  }
  let clusters: { name: string; weight: number }[] = [];
  let totalWeight = 1;
  if (specifiers[0] === "cluster") {
    const name = a.string("cluster", { nonEmpty: true });
    if (name === undefined) return undefined;
    refs.push({ cluster: name, path: a.at("cluster"), node: a.get("cluster") ?? a.node });
    clusters = [{ name, weight: 1 }];
  } else {
    const weighted = readWeightedClusters(a.message("weighted_clusters", F.WEIGHTED_CLUSTER), refs);
    if (weighted === undefined) return undefined;
    ({ clusters, totalWeight } = weighted);
  }
  const upgradeConfigs = readUpgradeConfigs(a, F.ROUTE_UPGRADE_CONFIG);
  return { type: "route", clusters, totalWeight, prefixRewrite, hostRewriteLiteral, timeoutMs, upgradeConfigs };
}

/**
 * The `upgrade_configs` of an HCM or of a route action (`fields` says which): each `upgrade_type`
 * once (compared case-insensitively, as Envoy does), `enabled` true by default. An upgrade's own
 * `filters` chain (HCM only) is not supported yet, so a non-empty one is refused.
 */
export function readUpgradeConfigs(owner: Message, fields: F.MessageFields): UpgradeConfig[] {
  const configs: UpgradeConfig[] = [];
  for (const item of owner.list("upgrade_configs")) {
    const u = owner.reader.message(item.node, item.path, fields);
    if (u === undefined) continue;
    const type = u.string("upgrade_type", { required: true, nonEmpty: true });
    const enabled = u.bool("enabled") ?? true;
    const filters = u.get("filters");
    if (filters !== undefined && (!isSeq(filters) || filters.items.length > 0)) {
      u.reader.error(u.at("filters"), filters, "is not supported yet by weft (an upgrade uses the connection manager's http_filters)");
    }
    if (type === undefined) continue;
    const upgradeType = type.toLowerCase();
    if (configs.some((c) => c.upgradeType === upgradeType)) {
      u.reader.error(u.at("upgrade_type"), u.get("upgrade_type") ?? u.node, `duplicates upgrade type ${JSON.stringify(type)}`);
      continue;
    }
    configs.push({ upgradeType, enabled });
  }
  return configs;
}

function readWeightedClusters(w: Message | undefined, refs: ClusterReference[]) {
  if (w === undefined) return undefined;
  const items = w.list("clusters");
  if (items.length === 0) {
    w.reader.error(w.at("clusters"), w.get("clusters") ?? w.node, "must list at least one cluster");
    return undefined;
  }
  const clusters: { name: string; weight: number }[] = [];
  let ok = true;
  for (const item of items) {
    const c = w.reader.message(item.node, item.path, F.CLUSTER_WEIGHT);
    const name = c?.string("name", { required: true });
    // Envoy reads an unset weight as 0.
    const weight = c?.has("weight") ? c.integer("weight", 0, UINT32_MAX) : 0;
    if (c === undefined || name === undefined || weight === undefined) {
      ok = false;
      continue;
    }
    refs.push({ cluster: name, path: c.at("name"), node: c.get("name") ?? c.node });
    clusters.push({ name, weight });
  }
  if (!ok) return undefined;
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  const total = w.integer("total_weight", 1, UINT32_MAX);
  if (total !== undefined && total !== sum) {
    w.reader.error(
      w.at("total_weight"),
      w.get("total_weight") ?? w.node,
      `must equal the sum of the cluster weights (${sum}), got ${total}`,
    );
    return undefined;
  }
  if (sum === 0) {
    w.reader.error(w.at("clusters"), w.get("clusters") ?? w.node, "must have weights that sum to more than 0");
    return undefined;
  }
  return { clusters, totalWeight: sum };
}

function readDirectResponse(d: Message | undefined): DirectResponseAction | undefined {
  if (d === undefined) return undefined;
  const status = d.require("status") ? d.integer("status", 200, 599) : undefined;
  const body = d.message("body", F.DATA_SOURCE);
  let text: string | null = null;
  if (body !== undefined) {
    text = body.string("inline_string", { required: !body.rejected }) ?? null;
    if (text !== null && new TextEncoder().encode(text).length > MAX_DIRECT_RESPONSE_BODY_BYTES) {
      d.reader.error(
        body.at("inline_string"),
        body.get("inline_string") ?? body.node,
        `must be at most ${MAX_DIRECT_RESPONSE_BODY_BYTES} bytes (Envoy's max_direct_response_body_size_bytes)`,
      );
    }
  }
  return status === undefined ? undefined : { type: "direct_response", status, body: text };
}

function readRedirect(m: Message | undefined): RedirectAction | undefined {
  if (m === undefined) return undefined;
  let ok = true;
  const exclusive = (a: string, b: string) => {
    if (m.has(a) && m.has(b)) {
      m.reader.error(m.path, m.node, `must set at most one of ${a} or ${b}`);
      ok = false;
    }
  };
  exclusive("https_redirect", "scheme_redirect");
  exclusive("path_redirect", "prefix_rewrite");
  const https = m.bool("https_redirect");
  const scheme = m.string("scheme_redirect", { nonEmpty: true });
  const port = m.integer("port_redirect", 0, 65535);
  const code = m.enum("response_code", Object.keys(REDIRECT_CODES) as (keyof typeof REDIRECT_CODES)[], []);
  const action: RedirectAction = {
    type: "redirect",
    schemeRedirect: https === true ? "https" : scheme?.toLowerCase() ?? null,
    hostRedirect: m.string("host_redirect", { nonEmpty: true }) ?? null,
    portRedirect: port === undefined || port === 0 ? null : port,
    pathRedirect: m.string("path_redirect") ?? null,
    prefixRewrite: m.string("prefix_rewrite") ?? null,
    responseCode: REDIRECT_CODES[code ?? "MOVED_PERMANENTLY"],
    stripQuery: m.bool("strip_query") ?? false,
  };
  return ok ? action : undefined;
}
