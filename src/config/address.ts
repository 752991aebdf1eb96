/**
 * `envoy.config.core.v3.Address` with its `socket_address`, and the IP and host name checks Envoy
 * applies to it.
 *
 * @module
 */

import { ADDRESS, SOCKET_ADDRESS } from "./envoy_fields.ts";
import type { Message, Reader } from "./reader.ts";
import type { SocketAddress } from "./types.ts";
import type { YamlNode } from "./yaml_source.ts";

/** What the address may be: an IP literal (listeners, admin, STATIC clusters) or also a DNS name. */
export type AddressKind = "ip" | "ip_or_hostname";

/**
 * Reads an `Address` field of `parent` (e.g. a listener's `address`): requires `socket_address`
 * with `address` and `port_value`, and `protocol` TCP if given. `hint` is appended to a
 * "must be an IP address" error.
 *
 * @example Read a listener address
 * ```ts
 * import { readAddress } from "./address.ts";
 * // const addr = readAddress(listenerMessage, "address", "ip", true);
 * ```
 */
export function readAddress(
  parent: Message,
  field: string,
  kind: AddressKind,
  required: boolean,
  hint = "",
): { address: SocketAddress; node: YamlNode } | undefined {
  if (!parent.has(field)) {
    if (required) parent.require(field);
    return undefined;
  }
  const address = parent.message(field, ADDRESS);
  if (address === undefined || (address.rejected && !address.has("socket_address"))) return undefined;
  if (!address.require("socket_address")) return undefined;
  const sa = address.message("socket_address", SOCKET_ADDRESS);
  if (sa === undefined) return undefined;
  sa.enum("protocol", ["TCP"], ["UDP"]);
  const host = sa.string("address", { required: true });
  const port = sa.integer("port_value", 0, 65535);
  if (!sa.has("port_value")) sa.require("port_value");
  const hostNode = sa.get("address");
  if (host !== undefined && hostNode !== undefined) checkHost(sa.reader, sa.at("address"), hostNode, host, kind, hint);
  if (host === undefined || port === undefined) return undefined;
  return { address: { address: host, port }, node: sa.node };
}

function checkHost(r: Reader, path: string, node: YamlNode, host: string, kind: AddressKind, hint: string): void {
  if (isIPv4(host) || isIPv6(host)) return;
  if (kind === "ip") {
    r.error(path, node, `must be an IP address such as 127.0.0.1 or ::1, got ${JSON.stringify(host)}${hint}`);
  } else if (!isHostname(host)) {
    r.error(path, node, `must be an IP address or a DNS name, got ${JSON.stringify(host)}`);
  }
}

/**
 * `host:port`, with an IPv6 literal in brackets.
 *
 * @example
 * ```ts
 * formatHostPort("127.0.0.1", 80); // "127.0.0.1:80"
 * formatHostPort("::1", 80); // "[::1]:80"
 * ```
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Dotted-quad IPv4 as `inet_pton` accepts it (no leading zeros). */
export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** An IPv6 literal without brackets or zone (`::1`, `2001:db8::1`, `::ffff:10.0.0.1`). */
export function isIPv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(":")) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

/** A DNS name: dot-separated labels of letters, digits, `-` and `_`, optionally ending in a dot. */
export function isHostname(s: string): boolean {
  const label = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
  return s.length <= 254 && new RegExp(`^${label}(?:\\.${label})*\\.?$`).test(s);
}
