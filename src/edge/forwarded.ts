/**
 * Who sent a request, as Envoy's HTTP connection manager decides it before forwarding
 * (`ConnectionManagerUtility::mutateRequestHeaders`, documented under "x-forwarded-for" and
 * "HTTP header sanitizing"): the trusted client address, whether the request is internal, and
 * whether it is an external request at the edge. The request head writer uses the answer to
 * append to `x-forwarded-for`, set `x-envoy-internal` / `x-envoy-external-address`, and drop the
 * `x-envoy-*` fields an untrusted client must not control. Also the other request fields whose
 * forwarded form Envoy rewrites: `x-forwarded-for`'s separator and `TE`.
 *
 * @example Envoy's example 1: an edge proxy (use_remote_address) without trusted proxies in front
 * ```ts
 * import { decideForwarding, forwarding } from "./forwarded.ts";
 *
 * decideForwarding("192.0.2.5", "203.0.113.128, 203.0.113.10", true, 0, []);
 * forwarding.clientAddress; // "192.0.2.5" (XFF is ignored)
 * forwarding.internal; // false
 * forwarding.edge; // true: x-envoy-external-address is set, x-envoy-* internal fields dropped
 * ```
 * @module
 */
import { isIP } from "node:net";
import type { CidrRange } from "../config/types.ts";

/**
 * The last decision of {@linkcode decideForwarding} (one per thread, read right after the call, so
 * a request allocates nothing for it).
 */
export const forwarding = {
  /** Envoy's trusted client address (an IP). */
  clientAddress: "",
  /** Internal origin: `x-envoy-internal: true` is set and the internal `x-envoy-*` fields are kept. */
  internal: false,
  /** External and `use_remote_address`: the first ingress into the trusted network. */
  edge: false,
};

/**
 * Decides the trusted client address and the request's origin from the peer's address, the
 * request's `X-Forwarded-For` (its values joined, or null), `use_remote_address` and
 * `xff_num_trusted_hops`, with Envoy's rules:
 * - with `use_remote_address`, the peer is the client, unless N > 0 trusted hops are configured
 *   and XFF has at least N addresses: then the Nth from the right; internal only without XFF;
 * - without it, the (N+1)th address from the right of XFF (none: no trusted address, never
 *   internal); internal only when XFF holds exactly that one address.
 * Internal also needs the address inside one of `internalRanges` (`internal_address_config`;
 * {@linkcode isInternalAddress}): without any, no request is internal, as in Envoy since 1.33.
 */
export function decideForwarding(
  remoteAddress: string,
  forwardedFor: string | null,
  useRemoteAddress: boolean,
  xffNumTrustedHops: number,
  internalRanges: readonly CidrRange[],
): void {
  let client: string | null = null;
  let single: boolean;
  if (useRemoteAddress) {
    single = forwardedFor === null;
    if (xffNumTrustedHops > 0 && forwardedFor !== null) client = addressFromRight(forwardedFor, xffNumTrustedHops - 1);
    if (client === null) client = remoteAddress;
  } else {
    client = forwardedFor === null ? null : addressFromRight(forwardedFor, xffNumTrustedHops);
    single = client !== null && xffNumTrustedHops === 0 && forwardedFor!.indexOf(",") < 0;
  }
  const internal = single && client !== null && internalRanges.length > 0 && isInternalAddress(client, internalRanges);
  forwarding.clientAddress = client ?? remoteAddress;
  forwarding.internal = internal;
  forwarding.edge = !internal && useRemoteAddress;
}

/**
 * The IP address `skip` entries from the right end of the comma-separated `xff`, or null when
 * there are not enough entries or that entry is not an IP address (Envoy's `getLastAddressFromXFF`).
 */
export function addressFromRight(xff: string, skip: number): string | null {
  let end = xff.length;
  for (let i = 0; i < skip; i++) {
    const comma = xff.lastIndexOf(",", end - 1);
    if (comma < 0) return null;
    end = comma;
  }
  let start = end === 0 ? 0 : xff.lastIndexOf(",", end - 1) + 1;
  // Only optional whitespace (SP, HTAB), as Envoy trims: String.prototype.trim would also take a
  // NBSP (0xA0), which Envoy keeps, so the entry is no address.
  while (start < end && isOws(xff.charCodeAt(start))) start++;
  while (end > start && isOws(xff.charCodeAt(end - 1))) end--;
  const address = xff.slice(start, end);
  return isIP(address) === 0 ? null : address;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Whether `address` (an IP literal) lies in one of `ranges` (Envoy's `InternalAddressConfig` with
 * `cidr_ranges`). An IPv4 address never matches an IPv6 range nor the reverse, also when
 * IPv4-mapped (`::ffff:10.0.0.1`), as in Envoy's `CidrRange::isInRange`. The ranges are compiled
 * once per list (the listener's config holds the same array for its life).
 *
 * @example
 * ```ts
 * import { isInternalAddress } from "./forwarded.ts";
 *
 * isInternalAddress("10.1.2.3", [{ addressPrefix: "10.0.0.0", prefixLen: 8 }]); // true
 * isInternalAddress("127.0.0.1", []); // false: nothing is internal by default
 * ```
 */
export function isInternalAddress(address: string, ranges: readonly CidrRange[]): boolean {
  let compiled = compiledRanges.get(ranges);
  if (compiled === undefined) {
    compiled = compileRanges(ranges);
    compiledRanges.set(ranges, compiled);
  }
  if (address.indexOf(":") < 0) {
    const ip = ipv4Number(address);
    if (ip < 0) return false;
    const v4 = compiled.v4;
    for (let i = 0; i < v4.length; i += 2) {
      if (((ip & v4[i + 1]!) >>> 0) === v4[i]) return true;
    }
    return false;
  }
  if (compiled.v6.length === 0 || !ipv6Groups(address, scratchGroups)) return false;
  return compiled.v6.some((r) => prefixMatches(scratchGroups, r.groups, r.prefixLen));
}

/** Ranges by family: IPv4 as (network, mask) pairs of unsigned 32-bit numbers, IPv6 as groups. */
interface CompiledRanges {
  v4: number[];
  v6: { groups: Uint16Array; prefixLen: number }[];
}

const compiledRanges = new WeakMap<readonly CidrRange[], CompiledRanges>();
const scratchGroups = new Uint16Array(8);

function compileRanges(ranges: readonly CidrRange[]): CompiledRanges {
  const out: CompiledRanges = { v4: [], v6: [] };
  for (const r of ranges) {
    const ip = ipv4Number(r.addressPrefix);
    if (ip >= 0) {
      const mask = r.prefixLen === 0 ? 0 : (0xffffffff << (32 - r.prefixLen)) >>> 0;
      out.v4.push((ip & mask) >>> 0, mask);
      continue;
    }
    const groups = new Uint16Array(8);
    if (ipv6Groups(r.addressPrefix, groups)) out.v6.push({ groups, prefixLen: r.prefixLen });
  }
  return out;
}

/** A dotted-quad IPv4 address as an unsigned 32-bit number, or -1. */
function ipv4Number(s: string): number {
  const parts = s.split(".");
  if (parts.length !== 4) return -1;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return -1;
    n = n * 256 + Number(p);
  }
  return n;
}

/** Parses an IPv6 literal (`::` and a dotted IPv4 tail allowed, no zone) into 8 groups. */
function ipv6Groups(s: string, out: Uint16Array): boolean {
  const gap = s.indexOf("::");
  if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) return false;
  const left = gap < 0 ? s : s.slice(0, gap);
  const right = gap < 0 ? "" : s.slice(gap + 2);
  const head = left === "" ? [] : left.split(":");
  const tail = right === "" ? [] : right.split(":");
  const last = gap < 0 ? head : tail;
  if (last.length > 0 && last[last.length - 1]!.includes(".")) {
    const v4 = ipv4Number(last.pop()!);
    if (v4 < 0) return false;
    last.push((v4 >>> 16).toString(16), (v4 & 0xffff).toString(16));
  }
  const zeros = 8 - head.length - tail.length;
  if (gap < 0 ? zeros !== 0 : zeros < 1) return false;
  let at = 0;
  for (const g of head) {
    if (!HEX_GROUP.test(g)) return false;
    out[at++] = Number.parseInt(g, 16);
  }
  for (let k = 0; k < zeros; k++) out[at++] = 0;
  for (const g of tail) {
    if (!HEX_GROUP.test(g)) return false;
    out[at++] = Number.parseInt(g, 16);
  }
  return true;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Whether the first `prefixLen` bits of two addresses (as 16-bit groups) are equal. */
function prefixMatches(a: Uint16Array, b: Uint16Array, prefixLen: number): boolean {
  let bits = prefixLen;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

/**
 * Whether the `TE` fields of a request (the values of `headers`, a name/value list, named `te`)
 * list the `trailers` token: Envoy then forwards `te: trailers` alone and otherwise drops `TE`
 * (it is hop-by-hop; only trailers still means something to the next hop). Tokens are compared
 * trimmed and case-insensitively, as Envoy's codec does for a `TE` that `Connection` nominates.
 */
export function teAcceptsTrailers(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== "te") continue;
    for (const token of headers[i + 1]!.split(",")) {
      if (trimOws(token).toLowerCase() === "trailers") return true;
    }
  }
  return false;
}

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** `x-envoy-*` request fields an external request may not set: Envoy removes them unless internal. */
const INTERNAL_ONLY_FIELDS: ReadonlySet<string> = new Set([
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
]);

/** Removed from edge requests only (Envoy: the caller's identity, which only Envoy sets). */
const EDGE_REMOVED_FIELDS: ReadonlySet<string> = new Set([
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
]);

/**
 * Whether the client's `x-envoy-*` field `name` (lower-case) is dropped for the request
 * {@linkcode decideForwarding} last decided on: `x-envoy-internal` always (weft sets it), the
 * internal-only fields unless internal, the caller-identity ones and `x-envoy-external-address` at
 * the edge (weft sets the latter).
 */
export function dropsEnvoyField(name: string): boolean {
  if (name === "x-envoy-internal") return true;
  if (!forwarding.internal && INTERNAL_ONLY_FIELDS.has(name)) return true;
  return forwarding.edge && (name === "x-envoy-external-address" || EDGE_REMOVED_FIELDS.has(name));
}
