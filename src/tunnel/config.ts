/**
 * The tunnel's workload configuration: ztunnel's local config file (its `LOCAL_XDS_PATH` format) with
 * `workloads`, `services` and `policies`, parsed and validated. Field names are ztunnel's serde names
 * (camelCase); unknown fields and bad references are errors that name the YAML path and the
 * `file:line:col` where they are, e.g. `local.yaml:7:5: workloads[1].serviceAccount: …`.
 *
 * weft's extensions over ztunnel's format: `action` and `scope` are matched case-insensitively
 * (`ALLOW` = `Allow`), a string match may be a bare string (an exact match), and a service VIP may be
 * a bare IP (`127.10.0.1`, network ""). Fields that name features weft does not implement
 * (`waypoint`, `networkGateway`, `applicationTunnel`, a workload's `hostname`, `networkMode`,
 * `nativeTunnel`, `locality`, `capacity`, a service's `ipFamilies`, a workload's or VIP's `network`
 * other than the default `""`) are refused rather than ignored.
 *
 * @example
 * ```ts
 * const cfg = parseLocalConfig(await readFile("local.yaml", "utf8"), "local.yaml");
 * cfg.workloads[0]!.workloadIps; // ["127.0.1.2"]
 * ```
 *
 * @module
 */

import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Node as YamlNode, Pair, YAMLMap, YAMLSeq } from "yaml";
import { isIP } from "node:net";
import { readConfigText } from "../config/load.ts";
import { parseSpiffeId } from "./identity.ts";
import { canonicalIp } from "./own_listeners.ts";

export type InboundProtocol = "HBONE" | "TCP";
export type HealthStatus = "Healthy" | "Unhealthy";

export interface Workload {
  uid: string;
  name: string;
  namespace: string;
  serviceAccount: string;
  trustDomain: string;
  workloadIps: string[];
  protocol: InboundProtocol;
  node: string;
  network: string;
  clusterId: string;
  workloadName: string;
  workloadType: string;
  canonicalName: string;
  canonicalRevision: string;
  status: HealthStatus;
  /** `namespace/name` keys of WorkloadSelector policies that select this workload. */
  authorizationPolicies: string[];
  /** `namespace/hostname` → service port → target port (0: same as the service port). */
  services: Record<string, Record<number, number>>;
}

export interface NetworkAddress {
  network: string;
  address: string;
}

export interface Service {
  name: string;
  namespace: string;
  hostname: string;
  vips: NetworkAddress[];
  /** Service port → target port (0: same as the service port). */
  ports: Record<number, number>;
  /**
   * SPIFFE ids a destination reached through this service may present besides its workload's own
   * (ztunnel's `workload_and_services_san`).
   */
  subjectAltNames: string[];
}

export type StringMatch =
  | { exact: string }
  | { prefix: string }
  | { suffix: string }
  | { presence: true };

export interface ServiceAccountMatch {
  namespace: string;
  serviceAccount: string;
}

/** A CIDR as `address/length`. */
export interface IpNet {
  address: string;
  length: number;
}

/** One match of a clause; every listed kind must match, any value within a kind. */
export interface RbacMatch {
  namespaces: StringMatch[];
  notNamespaces: StringMatch[];
  serviceAccounts: ServiceAccountMatch[];
  notServiceAccounts: ServiceAccountMatch[];
  principals: StringMatch[];
  notPrincipals: StringMatch[];
  sourceIps: IpNet[];
  notSourceIps: IpNet[];
  destinationIps: IpNet[];
  notDestinationIps: IpNet[];
  destinationPorts: number[];
  notDestinationPorts: number[];
}

export type RbacScope = "Global" | "Namespace" | "WorkloadSelector";
export type RbacAction = "Allow" | "Deny";

/** ztunnel's `Authorization`: rules (any) → clauses (all) → matches (any). */
export interface Authorization {
  name: string;
  namespace: string;
  scope: RbacScope;
  action: RbacAction;
  rules: RbacMatch[][][];
  dryRun: boolean;
}

export interface LocalConfig {
  workloads: Workload[];
  services: Service[];
  policies: Authorization[];
}

/** One problem found in a config file. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** YAML path, e.g. `workloads[1].serviceAccount`. */
  path: string;
  message: string;
}

/** Thrown by {@link parseLocalConfig}; `message` lists every issue, one per line. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** `file:line:col: path: message`. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${
    i.path ? i.path + ": " : ""
  }${i.message}`;
}

const DEFAULT_TRUST_DOMAIN = "cluster.local";
const DEFAULT_CLUSTER_ID = "Kubernetes";

type Node = YamlNode | null | undefined;

class Reader {
  readonly issues: ConfigIssue[] = [];
  constructor(readonly file: string, readonly lc: LineCounter) {}

  at(node: Node | Pair, path: string, message: string): void {
    const range = node && "range" in node ? node.range : undefined;
    const offset = range ? range[0] : 0;
    const { line, col } = this.lc.linePos(offset);
    this.issues.push({
      file: this.file,
      line: Math.max(line, 1),
      col: Math.max(col, 1),
      path,
      message,
    });
  }

  /**
   * Reads a map, calling `fields[key]` for each known key and reporting unknown keys and missing
   * `required` ones. Returns false when `node` is not a map.
   */
  map(
    node: Node,
    path: string,
    fields: Record<string, (value: Node, path: string) => void>,
    required: string[] = [],
  ): boolean {
    if (!isMap(node)) {
      this.at(node, path, `expected a mapping, found ${describe(node)}`);
      return false;
    }
    const seen = new Set<string>();
    for (const pair of (node as YAMLMap<unknown, unknown>).items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      const p = key === undefined ? path : join(path, key);
      if (key === undefined) {
        this.at(keyNode, path, "expected a string key");
        continue;
      }
      if (seen.has(key)) {
        this.at(keyNode, p, "duplicate key");
        continue;
      }
      seen.add(key);
      const f = fields[key];
      if (!f) {
        this.at(
          keyNode,
          p,
          `unknown field "${key}" (expected one of: ${
            Object.keys(fields).join(", ")
          })`,
        );
        continue;
      }
      f(pair.value as Node, p);
    }
    for (const r of required) {
      if (!seen.has(r)) this.at(node, path, `missing required field "${r}"`);
    }
    return true;
  }

  seq<T>(
    node: Node,
    path: string,
    item: (n: Node, path: string) => T | undefined,
  ): T[] {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) {
      this.at(node, path, `expected a sequence, found ${describe(node)}`);
      return [];
    }
    const out: T[] = [];
    (node as YAMLSeq<unknown>).items.forEach((n, i) => {
      const v = item(n as Node, `${path}[${i}]`);
      if (v !== undefined) out.push(v);
    });
    return out;
  }

  str(
    node: Node,
    path: string,
    opts: { nonEmpty?: boolean } = {},
  ): string | undefined {
    if (
      !isScalar(node) ||
      (typeof node.value !== "string" && typeof node.value !== "number")
    ) {
      this.at(node, path, `expected a string, found ${describe(node)}`);
      return undefined;
    }
    const s = String(node.value);
    if (opts.nonEmpty && s === "") {
      this.at(node, path, "must not be empty");
      return undefined;
    }
    return s;
  }

  bool(node: Node, path: string): boolean | undefined {
    if (!isScalar(node) || typeof node.value !== "boolean") {
      this.at(node, path, `expected true or false, found ${describe(node)}`);
      return undefined;
    }
    return node.value;
  }

  port(node: Node, path: string, allowZero = false): number | undefined {
    const v = isScalar(node)
      ? (typeof node.value === "string" ? Number(node.value) : node.value)
      : undefined;
    if (
      typeof v !== "number" || !Number.isInteger(v) ||
      v < (allowZero ? 0 : 1) || v > 65535
    ) {
      this.at(
        node,
        path,
        `expected a port number (${allowZero ? 0 : 1}-65535), found ${
          describe(node)
        }`,
      );
      return undefined;
    }
    return v;
  }

  /**
   * An IP address in the one spelling every lookup uses ({@link canonicalIp}): spelled otherwise
   * (`::FFFF:127.0.1.8`), a workload was never found by its address, so traffic to it went out as
   * passthrough, past HBONE and its policies.
   */
  ip(node: Node, path: string): string | undefined {
    const s = this.str(node, path);
    if (s === undefined) return undefined;
    if (!isIP(s)) {
      this.at(node, path, `"${s}" is not an IP address`);
      return undefined;
    }
    return canonicalIp(s) ?? s;
  }

  /**
   * Reports a `network` other than ztunnel's default `""`: ztunnel's multi-network (gateways between
   * networks) is not implemented, and weft's tunnel has one network.
   */
  defaultNetwork(node: Node, path: string, network: string | undefined): boolean {
    if (!network) return true;
    this.at(node, path, `network ${JSON.stringify(network)} is not supported by weft's tunnel (it has one network, "")`);
    return false;
  }

  oneOf<T extends string>(
    node: Node,
    path: string,
    values: readonly T[],
  ): T | undefined {
    const s = this.str(node, path);
    if (s === undefined) return undefined;
    const v = values.find((x) => x.toLowerCase() === s.toLowerCase());
    if (!v) this.at(node, path, `"${s}" is not one of ${values.join(", ")}`);
    return v;
  }

  portMap(node: Node, path: string): Record<number, number> {
    const out: Record<number, number> = {};
    if (!isMap(node)) {
      this.at(
        node,
        path,
        `expected a mapping of port: targetPort, found ${describe(node)}`,
      );
      return out;
    }
    for (const pair of (node as YAMLMap<unknown, unknown>).items) {
      const k = this.port(pair.key as Node, path);
      if (k === undefined) continue;
      const v = this.port(pair.value as Node, `${path}.${k}`, true);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(node: Node): string {
  if (node === null || node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a sequence";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "null";
    return `${typeof v} ${JSON.stringify(v)}`;
  }
  return "an unsupported node";
}

function unsupported(r: Reader, feature: string) {
  return (n: Node, p: string) =>
    r.at(n, p, `${feature} is not supported by weft's tunnel`);
}

function readWorkload(
  r: Reader,
  node: Node,
  path: string,
): { w: Workload; node: Node } | undefined {
  const w: Workload = {
    uid: "",
    name: "",
    namespace: "",
    serviceAccount: "default",
    trustDomain: DEFAULT_TRUST_DOMAIN,
    workloadIps: [],
    protocol: "TCP",
    node: "",
    network: "",
    clusterId: DEFAULT_CLUSTER_ID,
    workloadName: "",
    workloadType: "pod",
    canonicalName: "",
    canonicalRevision: "",
    status: "Healthy",
    authorizationPolicies: [],
    services: {},
  };
  const s = (k: keyof Workload, nonEmpty = false) => (n: Node, p: string) => {
    const v = r.str(n, p, { nonEmpty });
    if (v !== undefined) (w as unknown as Record<string, unknown>)[k] = v;
  };
  const ok = r.map(node, path, {
    uid: s("uid", true),
    name: s("name", true),
    namespace: s("namespace", true),
    serviceAccount: s("serviceAccount", true),
    trustDomain: s("trustDomain", true),
    node: s("node"),
    network: (n, p) => void r.defaultNetwork(n, p, r.str(n, p)),
    clusterId: s("clusterId"),
    workloadName: s("workloadName"),
    workloadType: s("workloadType"),
    canonicalName: s("canonicalName"),
    canonicalRevision: s("canonicalRevision"),
    // ztunnel fields weft's tunnel does nothing with: refused, not silently ignored.
    hostname: unsupported(r, "hostname"),
    networkMode: unsupported(r, "networkMode"),
    nativeTunnel: unsupported(r, "nativeTunnel"),
    locality: unsupported(r, "locality"),
    capacity: unsupported(r, "capacity"),
    workloadIps: (n, p) => {
      w.workloadIps = r.seq(n, p, (x, xp) => r.ip(x, xp));
    },
    protocol: (n, p) => {
      const v = r.oneOf(n, p, ["HBONE", "TCP"] as const);
      if (v) w.protocol = v;
    },
    status: (n, p) => {
      const v = r.oneOf(n, p, ["Healthy", "Unhealthy"] as const);
      if (v) w.status = v;
    },
    authorizationPolicies: (n, p) => {
      w.authorizationPolicies = r.seq(
        n,
        p,
        (x, xp) => r.str(x, xp, { nonEmpty: true }),
      );
    },
    services: (n, p) => {
      if (n === null || (isScalar(n) && n.value === null)) return;
      if (!isMap(n)) {
        return r.at(
          n,
          p,
          `expected a mapping of "namespace/hostname": ports, found ${
            describe(n)
          }`,
        );
      }
      for (const pair of (n as YAMLMap<unknown, unknown>).items) {
        const key = r.str(pair.key as Node, p);
        if (key === undefined) continue;
        const kp = `${p}["${key}"]`;
        if (!/^[^/]+\/[^/]+$/.test(key)) {
          r.at(pair.key as Node, kp, `expected "namespace/hostname"`);
          continue;
        }
        w.services[key] = r.portMap(pair.value as Node, kp);
      }
    },
    waypoint: unsupported(r, "waypoint"),
    networkGateway: unsupported(r, "networkGateway"),
    applicationTunnel: unsupported(r, "applicationTunnel"),
  }, ["name", "namespace", "workloadIps"]);
  if (!ok) return undefined;
  if (!w.uid && w.name && w.namespace) {
    w.uid = `${w.clusterId}//v1/Pod/${w.namespace}/${w.name}`;
  }
  if (!w.workloadName) w.workloadName = w.name;
  if (!w.canonicalName) w.canonicalName = w.name;
  if (!w.canonicalRevision) w.canonicalRevision = "latest";
  return { w, node };
}

function readVip(
  r: Reader,
  node: Node,
  path: string,
): NetworkAddress | undefined {
  const s = r.str(node, path);
  if (s === undefined) return undefined;
  const slash = s.indexOf("/");
  const network = slash >= 0 ? s.slice(0, slash) : "";
  const address = slash >= 0 ? s.slice(slash + 1) : s;
  if (!isIP(address)) {
    r.at(node, path, `"${s}" is not a VIP ("network/IP" or "IP")`);
    return undefined;
  }
  if (!r.defaultNetwork(node, path, network)) return undefined;
  return { network, address: canonicalIp(address) ?? address };
}

function readService(r: Reader, node: Node, path: string): Service | undefined {
  const svc: Service = {
    name: "",
    namespace: "",
    hostname: "",
    vips: [],
    ports: {},
    subjectAltNames: [],
  };
  const s = (k: "name" | "namespace" | "hostname") => (n: Node, p: string) => {
    const v = r.str(n, p, { nonEmpty: true });
    if (v !== undefined) svc[k] = v;
  };
  const ok = r.map(node, path, {
    name: s("name"),
    namespace: s("namespace"),
    hostname: s("hostname"),
    vips: (n, p) => {
      svc.vips = r.seq(n, p, (x, xp) => readVip(r, x, xp));
    },
    ports: (n, p) => {
      svc.ports = r.portMap(n, p);
    },
    // Checked here, where a typo can name its line: ztunnel logs an invalid entry and skips it.
    subjectAltNames: (n, p) => {
      svc.subjectAltNames = r.seq(n, p, (x, xp) => {
        const san = r.str(x, xp);
        if (san === undefined || parseSpiffeId(san)) return san;
        r.at(x, xp, `${JSON.stringify(san)} is not a SPIFFE URI (spiffe://<trust domain>/ns/<namespace>/sa/<service account>)`);
        return undefined;
      });
    },
    endpoints: unsupported(
      r,
      "endpoints (list the service under a workload's services instead)",
    ),
    ipFamilies: unsupported(r, "ipFamilies"),
    loadBalancer: unsupported(r, "loadBalancer"),
    waypoint: unsupported(r, "waypoint"),
  }, ["name", "namespace", "hostname", "ports"]);
  return ok ? svc : undefined;
}

function readStringMatch(
  r: Reader,
  node: Node,
  path: string,
): StringMatch | undefined {
  if (isScalar(node) && typeof node.value === "string") {
    return { exact: node.value };
  }
  if (!isMap(node) || (node as YAMLMap).items.length !== 1) {
    r.at(
      node,
      path,
      `expected a string match ({Exact|Prefix|Suffix: value} or {Presence: []}), found ${
        describe(node)
      }`,
    );
    return undefined;
  }
  const pair = (node as YAMLMap<unknown, unknown>).items[0]!;
  const kind = isScalar(pair.key) ? String(pair.key.value) : "";
  const v = pair.value as Node;
  switch (kind.toLowerCase()) {
    case "exact":
    case "prefix":
    case "suffix": {
      const s = r.str(v, `${path}.${kind}`);
      if (s === undefined) return undefined;
      const k = kind.toLowerCase();
      return k === "exact"
        ? { exact: s }
        : k === "prefix"
        ? { prefix: s }
        : { suffix: s };
    }
    case "presence":
      return { presence: true };
    default:
      r.at(
        pair.key as Node,
        path,
        `unknown string match "${kind}" (expected Exact, Prefix, Suffix or Presence)`,
      );
      return undefined;
  }
}

function readIpNet(r: Reader, node: Node, path: string): IpNet | undefined {
  const s = r.str(node, path);
  if (s === undefined) return undefined;
  const [address, len] = s.split("/");
  const family = isIP(address ?? "");
  const max = family === 6 ? 128 : 32;
  const length = len === undefined ? max : Number(len);
  if (!family || !Number.isInteger(length) || length < 0 || length > max) {
    r.at(node, path, `"${s}" is not an IP network ("IP" or "IP/length")`);
    return undefined;
  }
  return { address: address!, length };
}

function readMatch(r: Reader, node: Node, path: string): RbacMatch | undefined {
  const m: RbacMatch = {
    namespaces: [],
    notNamespaces: [],
    serviceAccounts: [],
    notServiceAccounts: [],
    principals: [],
    notPrincipals: [],
    sourceIps: [],
    notSourceIps: [],
    destinationIps: [],
    notDestinationIps: [],
    destinationPorts: [],
    notDestinationPorts: [],
  };
  const strings =
    (k: "namespaces" | "notNamespaces" | "principals" | "notPrincipals") =>
    (n: Node, p: string) => {
      m[k] = r.seq(n, p, (x, xp) => readStringMatch(r, x, xp));
    };
  const nets = (
    k: "sourceIps" | "notSourceIps" | "destinationIps" | "notDestinationIps",
  ) =>
  (n: Node, p: string) => {
    m[k] = r.seq(n, p, (x, xp) => readIpNet(r, x, xp));
  };
  const ports =
    (k: "destinationPorts" | "notDestinationPorts") => (n: Node, p: string) => {
      m[k] = r.seq(n, p, (x, xp) => r.port(x, xp));
    };
  const sas =
    (k: "serviceAccounts" | "notServiceAccounts") => (n: Node, p: string) => {
      m[k] = r.seq(n, p, (x, xp) => {
        const sa: ServiceAccountMatch = { namespace: "", serviceAccount: "" };
        const ok = r.map(x, xp, {
          namespace: (v, vp) =>
            void (sa.namespace = r.str(v, vp, { nonEmpty: true }) ?? ""),
          serviceAccount: (v, vp) =>
            void (sa.serviceAccount = r.str(v, vp, { nonEmpty: true }) ?? ""),
        }, ["namespace", "serviceAccount"]);
        return ok ? sa : undefined;
      });
    };
  const ok = r.map(node, path, {
    namespaces: strings("namespaces"),
    notNamespaces: strings("notNamespaces"),
    principals: strings("principals"),
    notPrincipals: strings("notPrincipals"),
    serviceAccounts: sas("serviceAccounts"),
    notServiceAccounts: sas("notServiceAccounts"),
    sourceIps: nets("sourceIps"),
    notSourceIps: nets("notSourceIps"),
    destinationIps: nets("destinationIps"),
    notDestinationIps: nets("notDestinationIps"),
    destinationPorts: ports("destinationPorts"),
    notDestinationPorts: ports("notDestinationPorts"),
  });
  return ok ? m : undefined;
}

function readPolicy(
  r: Reader,
  node: Node,
  path: string,
): Authorization | undefined {
  const a: Authorization = {
    name: "",
    namespace: "",
    scope: "Namespace",
    action: "Allow",
    rules: [],
    dryRun: false,
  };
  const ok = r.map(node, path, {
    name: (n, p) => void (a.name = r.str(n, p, { nonEmpty: true }) ?? ""),
    namespace: (n, p) =>
      void (a.namespace = r.str(n, p, { nonEmpty: true }) ?? ""),
    scope: (n, p) =>
      void (a.scope =
        r.oneOf(n, p, ["Global", "Namespace", "WorkloadSelector"] as const) ??
          a.scope),
    action: (n, p) =>
      void (a.action = r.oneOf(n, p, ["Allow", "Deny"] as const) ?? a.action),
    dryRun: (n, p) => void (a.dryRun = r.bool(n, p) ?? false),
    rules: (n, p) => {
      a.rules = r.seq(
        n,
        p,
        (rule, rp) =>
          r.seq(
            rule,
            rp,
            (clause, cp) => r.seq(clause, cp, (m, mp) => readMatch(r, m, mp)),
          ),
      );
    },
  }, ["name", "namespace", "action"]);
  return ok ? a : undefined;
}

/**
 * Reads the workload file as the bootstrap is read (the same decoding on both runtimes: UTF-8, or
 * UTF-16; invalid bytes refused with their position), then parses it; throws on any error.
 *
 * @example
 * ```ts
 * const cfg = await loadLocalConfig("local.yaml");
 * ```
 */
export async function loadLocalConfig(path: string): Promise<LocalConfig> {
  const read = await readConfigText(path);
  if (!read.ok) throw new Error(read.message);
  return parseLocalConfig(read.text, path);
}

/**
 * Parses and validates a local config document. Throws {@link ConfigError} listing every problem.
 *
 * @param text YAML source.
 * @param file Name used in error positions.
 */
export function parseLocalConfig(
  text: string,
  file = "config.yaml",
): LocalConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: false,
  });
  const r = new Reader(file, lc);
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    r.issues.push({
      file,
      line: Math.max(line, 1),
      col: Math.max(col, 1),
      path: "",
      message: e.message.split("\n")[0]!,
    });
  }
  if (r.issues.length) throw new ConfigError(r.issues);

  const cfg: LocalConfig = { workloads: [], services: [], policies: [] };
  const wlNodes: Node[] = [];
  const svcNodes: Node[] = [];
  const polNodes: Node[] = [];
  const root = doc.contents as Node;
  if (root === null || (isScalar(root) && root.value === null)) return cfg;
  r.map(root, "", {
    workloads: (n, p) => {
      r.seq(n, p, (x, xp) => {
        const got = readWorkload(r, x, xp);
        cfg.workloads.push(got?.w ?? (undefined as never));
        wlNodes.push(x);
        return undefined;
      });
    },
    services: (n, p) => {
      r.seq(n, p, (x, xp) => {
        cfg.services.push(readService(r, x, xp) as Service);
        svcNodes.push(x);
        return undefined;
      });
    },
    policies: (n, p) => {
      r.seq(n, p, (x, xp) => {
        cfg.policies.push(readPolicy(r, x, xp) as Authorization);
        polNodes.push(x);
        return undefined;
      });
    },
  });
  if (r.issues.length) throw new ConfigError(r.issues);
  validateReferences(r, cfg, wlNodes, svcNodes, polNodes);
  if (r.issues.length) throw new ConfigError(r.issues);
  return cfg;
}

function fieldNode(node: Node, key: string): Node {
  if (!isMap(node)) return node;
  for (const pair of (node as YAMLMap<unknown, unknown>).items) {
    if (isScalar(pair.key) && pair.key.value === key) return pair.value as Node;
  }
  return node;
}

function validateReferences(
  r: Reader,
  cfg: LocalConfig,
  wlNodes: Node[],
  svcNodes: Node[],
  polNodes: Node[],
) {
  const services = new Map<string, Service>();
  const vips = new Map<string, string>();
  cfg.services.forEach((s, i) => {
    const key = `${s.namespace}/${s.hostname}`;
    if (services.has(key)) {
      r.at(
        fieldNode(svcNodes[i], "hostname"),
        `services[${i}].hostname`,
        `duplicate service "${key}"`,
      );
    }
    services.set(key, s);
    s.vips.forEach((v, j) => {
      const prev = vips.get(v.address);
      if (prev) {
        r.at(
          fieldNode(svcNodes[i], "vips"),
          `services[${i}].vips[${j}]`,
          `VIP ${v.address} is already used by service "${prev}"`,
        );
      }
      vips.set(v.address, key);
    });
  });
  const policies = new Set<string>();
  cfg.policies.forEach((p, i) => {
    const key = `${p.namespace}/${p.name}`;
    if (policies.has(key)) {
      r.at(
        fieldNode(polNodes[i], "name"),
        `policies[${i}].name`,
        `duplicate policy "${key}"`,
      );
    }
    policies.add(key);
  });
  const uids = new Set<string>();
  const ips = new Map<string, string>();
  cfg.workloads.forEach((w, i) => {
    const node = wlNodes[i];
    if (uids.has(w.uid)) {
      r.at(
        fieldNode(node, "uid"),
        `workloads[${i}].uid`,
        `duplicate workload uid "${w.uid}"`,
      );
    }
    uids.add(w.uid);
    if (w.workloadIps.length === 0) {
      r.at(
        fieldNode(node, "workloadIps"),
        `workloads[${i}].workloadIps`,
        "must list at least one IP",
      );
    }
    w.workloadIps.forEach((ip, j) => {
      const prev = ips.get(ip);
      if (prev) {
        r.at(
          fieldNode(node, "workloadIps"),
          `workloads[${i}].workloadIps[${j}]`,
          `IP ${ip} is already used by workload "${prev}"`,
        );
      } else if (vips.has(ip)) {
        r.at(
          fieldNode(node, "workloadIps"),
          `workloads[${i}].workloadIps[${j}]`,
          `IP ${ip} is a VIP of service "${vips.get(ip)}"`,
        );
      }
      ips.set(ip, w.uid);
    });
    for (const key of Object.keys(w.services)) {
      if (!services.has(key)) {
        r.at(
          fieldNode(node, "services"),
          `workloads[${i}].services["${key}"]`,
          `no service "${key}" in services (known: ${
            [...services.keys()].join(", ") || "none"
          })`,
        );
      }
    }
    w.authorizationPolicies.forEach((key, j) => {
      if (!policies.has(key)) {
        r.at(
          fieldNode(node, "authorizationPolicies"),
          `workloads[${i}].authorizationPolicies[${j}]`,
          `no policy "${key}" in policies`,
        );
      }
    });
  });
}
