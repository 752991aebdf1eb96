/**
 * Istio's SPIFFE identities (`spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`): the
 * namespace and service account the tunnel's workloads and policies name. Reading identities from
 * certificates is `src/tls/identity.ts`'s.
 *
 * @example
 * ```ts
 * spiffeId({ trustDomain: "cluster.local", namespace: "default", serviceAccount: "web" });
 * // "spiffe://cluster.local/ns/default/sa/web"
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
