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
import { inCidrRanges } from "../net/cidr.ts";

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
 * {@linkcode inCidrRanges}): without any, no request is internal, as in Envoy since 1.33.
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
  const internal = single && client !== null && internalRanges.length > 0 && inCidrRanges(client, internalRanges);
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
