/**
 * Envoy's load-balancing policies over a cluster's hosts: ROUND_ROBIN (weighted, smooth), RANDOM
 * (weighted) and LEAST_REQUEST (power of two choices on active requests).
 *
 * @example
 * ```ts
 * const lb = createLoadBalancer("ROUND_ROBIN");
 * lb.pick(hosts); // the next host, or null when there is none
 * ```
 * @module
 */

export interface Balanced {
  weight: number;
  activeRequests: number;
  /** Smooth weighted round robin state. */
  currentWeight: number;
}

export interface LoadBalancer {
  pick<H extends Balanced>(hosts: readonly H[]): H | null;
}

export function createLoadBalancer(policy: "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST"): LoadBalancer {
  switch (policy) {
    case "ROUND_ROBIN":
      return new RoundRobin();
    case "RANDOM":
      return { pick: pickRandom };
    case "LEAST_REQUEST":
      return { pick: pickLeastRequest };
  }
}

class RoundRobin implements LoadBalancer {
  private next = 0;
  pick<H extends Balanced>(hosts: readonly H[]): H | null {
    if (hosts.length === 0) return null;
    if (hosts.length === 1) return hosts[0]!;
    let uniform = true;
    for (const h of hosts) if (h.weight !== hosts[0]!.weight) uniform = false;
    if (uniform) return hosts[this.next++ % hosts.length]!;
    // nginx's smooth weighted round robin: spreads heavy hosts instead of bursting them.
    let total = 0;
    let best: H | null = null;
    for (const h of hosts) {
      h.currentWeight += h.weight;
      total += h.weight;
      if (best === null || h.currentWeight > best.currentWeight) best = h;
    }
    best!.currentWeight -= total;
    return best;
  }
}

function pickRandom<H extends Balanced>(hosts: readonly H[]): H | null {
  if (hosts.length === 0) return null;
  let total = 0;
  for (const h of hosts) total += h.weight;
  let r = Math.random() * total;
  for (const h of hosts) {
    r -= h.weight;
    if (r < 0) return h;
  }
  return hosts[hosts.length - 1]!;
}

function pickLeastRequest<H extends Balanced>(hosts: readonly H[]): H | null {
  if (hosts.length <= 1) return hosts[0] ?? null;
  const a = hosts[Math.floor(Math.random() * hosts.length)]!;
  let b = hosts[Math.floor(Math.random() * hosts.length)]!;
  if (b === a) b = hosts[(hosts.indexOf(a) + 1) % hosts.length]!;
  // Envoy weighs active requests by host weight when weights differ.
  return a.activeRequests / a.weight <= b.activeRequests / b.weight ? a : b;
}

/** Pick from weighted choices (weighted_clusters). */
export function pickWeighted<T extends { weight: number }>(choices: readonly T[], total: number): T {
  if (choices.length === 1) return choices[0]!;
  let r = Math.random() * total;
  for (const c of choices) {
    r -= c.weight;
    if (r < 0) return c;
  }
  return choices[choices.length - 1]!;
}
