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

/**
 * Re-resolves DNS clusters, each on its own `dns_refresh_rate`, and reports whether any cluster's
 * endpoints changed. Call `refresh` periodically (main does every 250 ms); `now` and `resolve` are
 * passed in so the schedule can be tested without a clock or a DNS server.
 *
 * @example
 * ```ts
 * const dns = new DnsRefresher((h) => runtime.resolveIPv4(h));
 * if (await dns.refresh(bootstrap.clusters, endpoints, Date.now())) broadcast();
 * ```
 */
export class DnsRefresher {
  private checkedAt = new Map<string, number>();

  constructor(private resolve: (host: string) => Promise<string[]>) {}

  /** Mark a cluster as just resolved (at startup or reload). */
  resolved(cluster: string, now: number): void {
    this.checkedAt.set(cluster, now);
  }

  /** Re-resolve the clusters whose refresh is due; update `endpoints`; true if any changed. */
  async refresh(clusters: readonly Cluster[], endpoints: Map<string, Endpoint[]>, now: number): Promise<boolean> {
    let changed = false;
    for (const c of clusters) {
      if (c.type === "STATIC") continue;
      if (now - (this.checkedAt.get(c.name) ?? 0) < c.dnsRefreshRateMs) continue;
      this.checkedAt.set(c.name, now);
      // A failed lookup keeps the last known endpoints, as Envoy does.
      const next = await resolveEndpoints(c, this.resolve).catch(() => null);
      if (next === null || sameEndpoints(next, endpoints.get(c.name) ?? [])) continue;
      endpoints.set(c.name, next);
      changed = true;
    }
    return changed;
  }
}
