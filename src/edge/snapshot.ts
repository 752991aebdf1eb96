/**
 * What main posts to proxy workers: the validated bootstrap and each cluster's current endpoints
 * (main resolves DNS clusters and pushes host sets, as Envoy's main thread does). Plain data.
 *
 * @module
 */
import type { Bootstrap, Endpoint } from "../config/types.ts";

export interface EdgeSnapshot {
  version: string;
  bootstrap: Bootstrap;
  /** Endpoints by cluster name; STATIC clusters carry their configured ones. */
  endpoints: Record<string, Endpoint[]>;
}
