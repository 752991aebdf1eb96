/**
 * Requests that ask to switch protocols: `CONNECT` (a tunnel) and HTTP/1.1 `Upgrade` (WebSocket and
 * others). Envoy forwards them only where `upgrade_configs` (on the HCM or the route) enable their
 * type, and a CONNECT only on a `connect_matcher` route; weft supports neither yet, so every one is
 * refused as Envoy refuses it without that configuration. {@linkcode switchAllowed} is the one place
 * where that configuration will decide.
 *
 * @example
 * ```ts
 * const wanted = protocolSwitch(head);
 * if (wanted !== null && !switchAllowed(wanted, hcm, route)) {
 *   // 403 (Upgrade) or 404 (CONNECT: no connect_matcher route)
 * }
 * ```
 * @module
 */
import type { HttpConnectionManager, Route } from "../config/types.ts";
import type { RequestHead } from "./http1/types.ts";

/** A protocol switch a request asks for. */
export type ProtocolSwitch =
  | { kind: "connect" }
  /** `type` is the `Upgrade` value, e.g. "websocket" (Envoy's upgrade_type, matched case-insensitively). */
  | { kind: "upgrade"; type: string };

const CONNECT: ProtocolSwitch = { kind: "connect" };

/**
 * The switch `head` asks for, or null. An Upgrade counts only with `Connection: upgrade` (the codec
 * sets `head.upgrade` then); `h2c` is ignored and the request served as a plain one, as Envoy's
 * HTTP/1 codec does (the upgrade fields are hop-by-hop and are not forwarded).
 */
export function protocolSwitch(head: RequestHead): ProtocolSwitch | null {
  if (head.method === "CONNECT") return CONNECT;
  const type = head.upgrade;
  if (type === null || type.trim().toLowerCase() === "h2c") return null;
  return { kind: "upgrade", type };
}

/**
 * Whether a switch may be forwarded on `route` (the route it matched) of `hcm`: the
 * `upgrade_configs` of both will decide here (the route's overriding the HCM's, as in Envoy). Until
 * weft supports them, none may, and a CONNECT matches no route (it has no path, and only
 * `connect_matcher` routes take it).
 */
export function switchAllowed(_wanted: ProtocolSwitch, _hcm: HttpConnectionManager, _route: Route): boolean {
  return false;
}
