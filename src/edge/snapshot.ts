/**
 * What main posts to proxy workers: the validated bootstrap, each cluster's current endpoints (main
 * resolves DNS clusters and pushes host sets, as Envoy's main thread does), the real ports of
 * listeners configured with port 0, and the shared connection-limit counters. Plain data.
 *
 * @module
 */
import type { Bootstrap, Endpoint } from "../config/types.ts";

export interface EdgeSnapshot {
  version: string;
  bootstrap: Bootstrap;
  /** Endpoints by cluster name; STATIC clusters carry their configured ones. */
  endpoints: Record<string, Endpoint[]>;
  /** Index of each listener's column in the shared limits buffer (stable across reloads). */
  listenerIndex: Record<string, number>;
  /** Real ports of listeners configured with port 0 that a reload added. */
  resolvedPorts: Record<string, number>;
  /** See `connection_limits.ts`. */
  limits: SharedArrayBuffer;
}
