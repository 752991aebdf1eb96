/**
 * Endpoint resolution for STRICT_DNS and LOGICAL_DNS clusters, done on main (as Envoy's main thread
 * does) and pushed to workers in snapshots. STATIC clusters keep their configured addresses.
 *
 * @module
 */
import type { Cluster, Endpoint } from "../config/types.ts";

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Resolve one cluster's endpoints. STRICT_DNS: every address of every name; LOGICAL_DNS: the first. */
export async function resolveEndpoints(cluster: Cluster, resolve: (host: string) => Promise<string[]>): Promise<Endpoint[]> {
  if (cluster.type === "STATIC") return cluster.endpoints;
  const out: Endpoint[] = [];
  for (const e of cluster.endpoints) {
    const name = e.address.address;
    const ips = IPV4.test(name) || name.includes(":") ? [name] : await resolve(name);
    const chosen = cluster.type === "LOGICAL_DNS" ? ips.slice(0, 1) : ips;
    for (const ip of chosen) out.push({ address: { address: ip, port: e.address.port }, weight: e.weight });
  }
  return out;
}

export function sameEndpoints(a: Endpoint[], b: Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((e, i) => e.address.address === b[i]!.address.address && e.address.port === b[i]!.address.port && e.weight === b[i]!.weight);
}
