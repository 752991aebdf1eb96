/**
 * Names in certificates: the subject alternative names of a peer certificate as `node:tls` reports
 * them, and the verified SPIFFE identity of a mutually authenticated TLS socket. Used by the
 * tunnel's HBONE (the peer's SPIFFE id) and meant for the edge's TLS (SAN listing on `/certs`,
 * SAN matching of peers).
 *
 * @example
 * ```ts
 * subjectAltNames("DNS:example.com, URI:spiffe://cluster.local/ns/a/sa/b");
 * // [{ type: "DNS", value: "example.com" }, { type: "URI", value: "spiffe://cluster.local/ns/a/sa/b" }]
 * peerIdentity(tlsSocket); // undefined unless the socket is `authorized`
 * ```
 *
 * @module
 */

/** One subject alternative name: `type` as Node spells it (`DNS`, `URI`, `IP Address`, `email`). */
export interface SubjectAltName {
  type: string;
  value: string;
}

/**
 * The entries of a Node-style `subjectaltname` string (`"URI:spiffe://…, DNS:example.com"`), in
 * order; an entry without a `type:` prefix is skipped.
 */
export function subjectAltNames(san: string | undefined): SubjectAltName[] {
  if (!san) return [];
  const out: SubjectAltName[] = [];
  for (const part of san.split(/,\s*/)) {
    const colon = part.indexOf(":");
    if (colon > 0) out.push({ type: part.slice(0, colon), value: part.slice(colon + 1) });
  }
  return out;
}

/** The URI SANs of a Node-style `subjectaltname` string. */
export function uriSans(san: string | undefined): string[] {
  return subjectAltNames(san).filter((n) => n.type === "URI").map((n) => n.value);
}

/** The SPIFFE URIs (`spiffe://…`) among the URI SANs of a Node-style `subjectaltname` string. */
export function spiffeUrisFromSubjectAltName(san: string | undefined): string[] {
  return uriSans(san).filter((uri) => uri.startsWith("spiffe://"));
}

/** What {@link peerIdentity} reads from a TLS socket (node:tls `TLSSocket`). */
export interface PeerCertSource {
  authorized: boolean;
  getPeerCertificate(
    detailed?: boolean,
  ): { subjectaltname?: string } | null | undefined;
}

/**
 * The verified SPIFFE id of the peer: only when the handshake `authorized` the peer against our CA
 * (the server must have been created with `requestCert`), and only the first `spiffe://` URI SAN.
 */
export function peerIdentity(socket: PeerCertSource): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  return spiffeUrisFromSubjectAltName(cert?.subjectaltname)[0];
}
