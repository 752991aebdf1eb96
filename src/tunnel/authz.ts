/**
 * Authorization, evaluated on the destination side before connecting to the workload, with ztunnel's
 * semantics: a matching DENY policy refuses; with no ALLOW policy the connection is allowed; otherwise
 * an ALLOW policy must match. A policy matches when ANY rule matches; a rule when ALL its clauses
 * match; a clause when ANY of its matches does (an empty clause matches); a match when every listed
 * kind matches (any value in the positive list, none in the `not` list). Pure functions.
 *
 * @example
 * ```ts
 * const verdict = authorize(policiesFor(workload), {
 *   srcIdentity: "spiffe://cluster.local/ns/default/sa/client",
 *   srcIp: "127.0.1.2", dstIp: "127.0.1.3", dstPort: 8080,
 * });
 * if (!verdict.allowed) socket.destroy();
 * ```
 *
 * @module
 */

import type { Authorization, IpNet, RbacMatch, StringMatch } from "./config.ts";
import { parseSpiffeId } from "./identity.ts";
import type { CidrRange } from "../config/types.ts";
import { inCidrRanges } from "../net/cidr.ts";

/** The connection being authorized. */
export interface RbacConnection {
  /** The peer's verified SPIFFE id; undefined for plaintext sources. */
  srcIdentity?: string | undefined;
  srcIp: string;
  dstIp: string;
  dstPort: number;
}

export interface Verdict {
  allowed: boolean;
  /** `namespace/name` of the deciding policy, when one decided. */
  policy?: string;
  reason:
    | "denied_by_policy"
    | "no_allow_match"
    | "no_allow_policies"
    | "allowed_by_policy";
}

/** Evaluates `policies` (already narrowed to those that apply to the destination workload). */
export function authorize(
  policies: readonly Authorization[],
  conn: RbacConnection,
): Verdict {
  for (const p of policies) {
    if (p.action === "Deny" && !p.dryRun && policyMatches(p, conn)) {
      return {
        allowed: false,
        policy: `${p.namespace}/${p.name}`,
        reason: "denied_by_policy",
      };
    }
  }
  const allows = policies.filter((p) => p.action === "Allow" && !p.dryRun);
  if (allows.length === 0) {
    return { allowed: true, reason: "no_allow_policies" };
  }
  for (const p of allows) {
    if (policyMatches(p, conn)) {
      return {
        allowed: true,
        policy: `${p.namespace}/${p.name}`,
        reason: "allowed_by_policy",
      };
    }
  }
  return { allowed: false, reason: "no_allow_match" };
}

/** Whether one policy matches the connection (its action aside). */
export function policyMatches(p: Authorization, conn: RbacConnection): boolean {
  if (p.rules.length === 0) return false;
  const id = conn.srcIdentity;
  const parsed = id ? parseSpiffeId(id) : undefined;
  const ns = parsed?.namespace ?? "";
  return p.rules.some((rule) =>
    rule.every((clause) =>
      clause.length === 0 ||
      clause.some((m) => !isEmpty(m) && matchMatches(m, conn, id, ns, parsed))
    )
  );
}

function isEmpty(m: RbacMatch): boolean {
  return Object.values(m).every((v) => (v as unknown[]).length === 0);
}

function kind<T>(
  pos: readonly T[],
  neg: readonly T[],
  pred: (t: T) => boolean,
): boolean {
  return (pos.length === 0 || pos.some(pred)) &&
    (neg.length === 0 || !neg.some(pred));
}

function matchMatches(
  m: RbacMatch,
  c: RbacConnection,
  id: string | undefined,
  ns: string,
  parsed: ReturnType<typeof parseSpiffeId>,
): boolean {
  return kind(
    m.destinationIps,
    m.notDestinationIps,
    (n) => ipInNet(c.dstIp, n),
  ) &&
    kind(m.sourceIps, m.notSourceIps, (n) => ipInNet(c.srcIp, n)) &&
    kind(m.destinationPorts, m.notDestinationPorts, (p) => p === c.dstPort) &&
    kind(
      m.serviceAccounts,
      m.notServiceAccounts,
      (sa) =>
        parsed !== undefined && parsed.namespace === sa.namespace &&
        parsed.serviceAccount === sa.serviceAccount,
    ) &&
    kind(m.principals, m.notPrincipals, (s) => matchesPrincipal(s, id ?? "")) &&
    kind(m.namespaces, m.notNamespaces, (s) => matchesString(s, ns));
}

/** Istio principals omit the `spiffe://` prefix; an id without it never matches. */
export function matchesPrincipal(s: StringMatch, id: string): boolean {
  if (!id.startsWith("spiffe://")) return false;
  return matchesString(s, id.slice("spiffe://".length));
}

export function matchesString(s: StringMatch, v: string): boolean {
  if ("exact" in s) return v === s.exact;
  if ("prefix" in s) return v.startsWith(s.prefix);
  if ("suffix" in s) return v.endsWith(s.suffix);
  return v !== "";
}

/** Whether `ip` is inside `net` (IPv4 and IPv6; mixed families never match), by the edge's CIDR matcher. */
export function ipInNet(ip: string, net: IpNet): boolean {
  let ranges = netRanges.get(net);
  if (ranges === undefined) {
    ranges = [{ addressPrefix: net.address, prefixLen: net.length }];
    netRanges.set(net, ranges);
  }
  return inCidrRanges(ip, ranges);
}

/** Each policy network as the one-range list the matcher compiles once (policies live as long as their config). */
const netRanges = new WeakMap<IpNet, CidrRange[]>();
