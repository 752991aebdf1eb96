/**
 * SPIFFE identities (`spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`) and the peer
 * identity of a mutually authenticated TLS socket.
 *
 * @example
 * ```ts
 * spiffeId({ trustDomain: "cluster.local", namespace: "default", serviceAccount: "web" });
 * // "spiffe://cluster.local/ns/default/sa/web"
 * peerIdentity(tlsSocket); // undefined unless the socket is `authorized`
 * ```
 *
 * @module
 */

export interface Identity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** Formats an identity as its SPIFFE URI. */
export function spiffeId(id: Identity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Parses `spiffe://td/ns/<ns>/sa/<sa>`; undefined when it is not of that shape. */
export function parseSpiffeId(uri: string): Identity | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  return { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
}

/**
 * The SPIFFE URIs in a Node-style `subjectaltname` string
 * (`"URI:spiffe://…, DNS:example.com"`).
 */
export function spiffeUrisFromSubjectAltName(
  san: string | undefined,
): string[] {
  if (!san) return [];
  const out: string[] = [];
  for (const part of san.split(/,\s*/)) {
    if (part.startsWith("URI:spiffe://")) out.push(part.slice(4));
  }
  return out;
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
