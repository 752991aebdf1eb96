/**
 * The tunnel's view of the mesh built from a {@link LocalConfig}: workloads by IP, services by VIP
 * and hostname with their endpoints, the policies that apply to each workload, and destination
 * resolution (a workload IP:port, or a service VIP / hostname:port balanced round-robin over its
 * healthy endpoints). Immutable; a reload builds a new one.
 *
 * @example
 * ```ts
 * const state = new TunnelState(parseLocalConfig(text, "local.yaml"));
 * const src = state.workloadByIp("127.0.1.2");
 * const dst = state.resolve("127.0.1.3", 8080); // { workload, ip, port }
 * ```
 *
 * @module
 */

import type {
  Authorization,
  LocalConfig,
  Service,
  Workload,
} from "./config.ts";
import { spiffeId } from "./identity.ts";
import { canonicalIp } from "./own_listeners.ts";

/** Where a connection goes. */
export interface Destination {
  /** Undefined for passthrough to an address the mesh does not know. */
  workload?: Workload;
  /** The service the client addressed, when it addressed one. */
  service?: Service;
  /** The workload IP (or the unknown address) and target port to reach. */
  ip: string;
  port: number;
}

export interface Endpoint {
  workload: Workload;
  /** Service port → target port from the workload's `services` entry. */
  ports: Record<number, number>;
}

/** The SPIFFE id of a workload. */
export function workloadIdentity(w: Workload): string {
  return spiffeId({
    trustDomain: w.trustDomain,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
  });
}

/**
 * The identities a destination's certificate may present (ztunnel's `workload_and_services_san`):
 * `workload`'s own and, when the client addressed a service (`via`), that service's
 * `subjectAltNames`.
 */
export function acceptedIdentities(workload: Workload, via: Service | undefined): string[] {
  return [workloadIdentity(workload), ...(via?.subjectAltNames ?? [])];
}

export class TunnelState {
  readonly config: LocalConfig;
  readonly #byIp = new Map<string, Workload>();
  readonly #byVip = new Map<string, Service>();
  readonly #byHost = new Map<string, Service[]>();
  readonly #endpoints = new Map<Service, Endpoint[]>();
  readonly #policies = new Map<string, Authorization>();
  readonly #rr = new Map<Service, number>();

  constructor(config: LocalConfig) {
    this.config = config;
    for (const w of config.workloads) {
      for (const ip of w.workloadIps) this.#byIp.set(ip, w);
    }
    const byKey = new Map<string, Service>();
    for (const s of config.services) {
      byKey.set(`${s.namespace}/${s.hostname}`, s);
      for (const v of s.vips) this.#byVip.set(v.address, s);
      const list = this.#byHost.get(s.hostname) ?? [];
      list.push(s);
      this.#byHost.set(s.hostname, list);
      this.#endpoints.set(s, []);
    }
    for (const w of config.workloads) {
      for (const [key, ports] of Object.entries(w.services)) {
        const s = byKey.get(key);
        if (s && w.status === "Healthy") {
          this.#endpoints.get(s)!.push({ workload: w, ports });
        }
      }
    }
    for (const p of config.policies) {
      this.#policies.set(`${p.namespace}/${p.name}`, p);
    }
  }

  workloadByIp(ip: string): Workload | undefined {
    return this.#byIp.get(normalizeIp(ip));
  }

  /** Workloads whose `node` is `node`. */
  workloadsOnNode(node: string): Workload[] {
    return this.config.workloads.filter((w) => w.node === node);
  }

  serviceByVip(ip: string): Service | undefined {
    return this.#byVip.get(normalizeIp(ip));
  }

  /** A service by hostname; `namespace` picks among same-named services (first otherwise). */
  serviceByHost(hostname: string, namespace?: string): Service | undefined {
    const list = this.#byHost.get(hostname.toLowerCase()) ??
      this.#byHost.get(hostname);
    if (!list) return undefined;
    return list.find((s) => s.namespace === namespace) ?? list[0];
  }

  endpoints(s: Service): Endpoint[] {
    return this.#endpoints.get(s) ?? [];
  }

  /**
   * The policies that apply to workload `w`: Global ones, Namespace-scoped ones of its namespace, and
   * the WorkloadSelector ones it lists in `authorizationPolicies`.
   */
  policiesFor(w: Workload): Authorization[] {
    const out: Authorization[] = [];
    for (const p of this.config.policies) {
      if (
        p.scope === "Global" ||
        (p.scope === "Namespace" && p.namespace === w.namespace)
      ) out.push(p);
    }
    for (const key of w.authorizationPolicies) {
      const p = this.#policies.get(key);
      if (p && p.scope === "WorkloadSelector") out.push(p);
    }
    return out;
  }

  /**
   * Resolves what a client asked for (an IP or a hostname, and a port) to a destination.
   * Returns an error string when a service has no endpoint for that port.
   */
  resolve(
    host: string,
    port: number,
    sourceNamespace?: string,
  ): Destination | { error: string } {
    // One spelling per address, so `::ffff:127.0.1.3` is the workload 127.0.1.3 too.
    const literal = canonicalIp(host);
    const ip = literal ?? normalizeIp(host);
    const w = this.#byIp.get(ip);
    if (w) return { workload: w, ip, port };
    const svc = this.#byVip.get(ip) ??
      this.serviceByHost(host, sourceNamespace);
    if (svc) {
      const target = svc.ports[port];
      if (target === undefined) {
        return {
          error: `service ${svc.namespace}/${svc.hostname} has no port ${port}`,
        };
      }
      const eps = this.endpoints(svc).filter((e) =>
        e.ports[port] !== undefined || target !== undefined
      );
      if (eps.length === 0) {
        return {
          error:
            `service ${svc.namespace}/${svc.hostname} has no healthy endpoints`,
        };
      }
      const n = this.#rr.get(svc) ?? 0;
      this.#rr.set(svc, n + 1);
      const ep = eps[n % eps.length]!;
      const epTarget = ep.ports[port] ?? target;
      const ipOfEp = ep.workload.workloadIps[0]!;
      return {
        workload: ep.workload,
        service: svc,
        ip: ipOfEp,
        port: epTarget || port,
      };
    }
    // Passthrough only to an IP literal: a name with a colon is not IPv6, and `127.000.000.010`
    // would be read as octal by the resolver.
    if (literal !== undefined) return { ip: literal, port };
    return { error: `unknown host ${host}` };
  }
}

/** Strips an IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` → `127.0.0.1`). */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
