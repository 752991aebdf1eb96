/**
 * Whether a destination would reach one of the tunnel's own listeners (admin, metrics, readiness,
 * outbound, SOCKS5, inbound): a workload's connection there is refused, because passthrough to the
 * admin address let a workload `POST /quitquitquit` (issue 17; ztunnel refuses such a self call too).
 * A listener bound to an unspecified address (`0.0.0.0`, `::`) is reached through any local address.
 *
 * @example
 * ```ts
 * const own = [{ host: "127.0.0.1", port: 15000 }, { host: "0.0.0.0", port: 15020 }];
 * reachesOwnListener("127.0.0.1", 15000, own); // true
 * reachesOwnListener("::ffff:127.0.0.9", 15020, own); // true: 0.0.0.0 listens on every local address
 * reachesOwnListener("127.0.1.3", 8080, own); // false
 * ```
 *
 * @module
 */

import { networkInterfaces } from "node:os";
import { isIPv4, isIPv6 } from "../config/address.ts";

/** A bound listener's address. */
export interface ListenerAddress {
  host: string;
  port: number;
}

/**
 * One spelling per IP address: dotted IPv4 (also for an IPv4-mapped IPv6 address), otherwise IPv6
 * as the URL standard serializes it (lower case, zeros compressed). Undefined for anything that is
 * not an IP literal (a name, `127.1`, an IPv4 octet with a leading zero).
 */
export function canonicalIp(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return undefined;
  const v6 = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * Whether two IP literals are the same address as ztunnel compares them (Rust's `IpAddr`): equal
 * in any spelling of one family, but an IPv4-mapped IPv6 address is never the IPv4 address.
 */
export function sameIpAddress(a: string, b: string): boolean {
  const x = canonicalIp(a);
  return x !== undefined && x === canonicalIp(b) && isIPv4(a) === isIPv4(b);
}

function isUnspecified(ip: string): boolean {
  return ip === "0.0.0.0" || ip === "::";
}

/** This host's addresses: all of 127.0.0.0/8 and ::1, and every interface's. */
function isLocal(ip: string, interfaceIps: () => Iterable<string>): boolean {
  if (ip.startsWith("127.") || ip === "::1" || isUnspecified(ip)) return true;
  for (const a of interfaceIps()) if (canonicalIp(a) === ip) return true;
  return false;
}

function hostInterfaceIps(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * Whether connecting to `ip`:`port` reaches one of `listeners`. `ip` in any IP spelling; a name
 * (not an IP literal) never matches. `interfaceIps` is read only when a listener bound to an
 * unspecified address has the port (tests pass their own).
 */
export function reachesOwnListener(
  ip: string,
  port: number,
  listeners: Iterable<ListenerAddress>,
  interfaceIps: () => Iterable<string> = hostInterfaceIps,
): boolean {
  const dst = canonicalIp(ip);
  if (dst === undefined) return false;
  for (const l of listeners) {
    if (l.port !== port) continue;
    const host = canonicalIp(l.host) ?? l.host;
    if (host === dst) return true;
    // Connecting to 0.0.0.0 or :: reaches this host, whatever local address the listener has.
    if (isUnspecified(dst)) return true;
    if (isUnspecified(host) && (host === "::" || !dst.includes(":")) && isLocal(dst, interfaceIps)) return true;
  }
  return false;
}

/** Parses `host:port` (IPv6 in brackets) as a bound address string reads. */
export function parseListenerAddress(address: string): ListenerAddress {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(i + 1)) };
}
