/**
 * IP networks: whether an address lies in a list of Envoy `CidrRange`s, with ranges compiled once
 * per list. One home for the edge's internal addresses and its filter-chain source matching.
 *
 * @module
 */
import type { CidrRange } from "../config/types.ts";

/**
 * Whether `address` (an IP literal) lies in one of `ranges` (Envoy's `CidrRange` lists: an HCM's
 * `internal_address_config.cidr_ranges`, a filter chain's source prefix ranges). An IPv4 address
 * never matches an IPv6 range nor the reverse, also when IPv4-mapped (`::ffff:10.0.0.1`), as in
 * Envoy's `CidrRange::isInRange`. The ranges are compiled once per list (the listener's config
 * holds the same array for its life).
 *
 * @example
 * ```ts
 * import { inCidrRanges } from "./cidr.ts";
 *
 * inCidrRanges("10.1.2.3", [{ addressPrefix: "10.0.0.0", prefixLen: 8 }]); // true
 * inCidrRanges("127.0.0.1", []); // false: an empty list holds nothing
 * ```
 */
export function inCidrRanges(address: string, ranges: readonly CidrRange[]): boolean {
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
