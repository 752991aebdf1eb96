/**
 * Messages between the tunnel's main thread and its data-plane workers, and the shapes they carry.
 * Plain data only (structured clone).
 *
 * @module
 */

import type { ConnectionInfo, TaskInfo, WorkerInfo } from "../admin/wire.ts";
import type { LogFormat } from "./access_log.ts";
import type { LocalConfig } from "./config.ts";
import type { DrainResult } from "./drain.ts";
import type { MetricsSnapshot } from "./metrics.ts";

/** Listener ports; every one can be overridden, 0 picks a free port. */
export interface TunnelPorts {
  admin: number;
  metrics: number;
  readiness: number;
  /** Explicit HTTP CONNECT outbound (ztunnel's 15001). */
  outbound: number;
  socks5: number;
  /** Inbound plaintext (15006) on each hosted HBONE workload IP. */
  inboundPlaintext: number;
  /** Inbound HBONE (15008) on each hosted HBONE workload IP; must be the same on every node. */
  hbone: number;
}

export const DEFAULT_PORTS: TunnelPorts = {
  admin: 15000,
  metrics: 15020,
  readiness: 15021,
  outbound: 15001,
  socks5: 15080,
  inboundPlaintext: 15006,
  hbone: 15008,
};

/** A minted certificate as shipped to workers. */
export interface CertData {
  identity: string;
  certPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
  serial: string;
}

export type CertMap = Record<string, CertData>;

export interface DataPlaneInit {
  workerId: number;
  /** Which worker carries each pool key's streams, shared by the node's workers (`pool_owners.ts`). */
  poolOwners: SharedArrayBuffer;
  node: string;
  bindIp: string;
  ports: TunnelPorts;
  config: LocalConfig;
  certs: CertMap;
  caPem: string;
  logFormat: LogFormat;
  /** The main thread's bound listeners (admin, metrics, readiness), `host:port`: never a destination. */
  mainListeners: string[];
  maxStreamsPerConnection: number;
  /**
   * Connect to the destination workload from the source workload's IP (as ztunnel does), so the
   * workload sees who called. Costs connection-setup rate when the tunnel closes first (a bound
   * source port waits out TIME_WAIT before reuse).
   */
  preserveSourceIp: boolean;
}

/** The data-plane addresses as bound (`ip:port`). */
export interface DataPlaneAddresses {
  outbound: string;
  socks5: string;
  /** Workload IP → `ip:port`. */
  hbone: Record<string, string>;
  inboundPlaintext: Record<string, string>;
}

export interface WorkerStats {
  worker: WorkerInfo;
  metrics: MetricsSnapshot;
  connections: ConnectionInfo[];
  tasks: TaskInfo[];
}

export type MainToWorker =
  | { type: "init"; init: DataPlaneInit }
  | { type: "config"; config: LocalConfig; seq: number }
  | { type: "certs"; certs: CertMap }
  /** Ports to the other workers (by worker id), for forwarding streams to a pool's owner. */
  | { type: "peers"; ports: Record<number, MessagePort> }
  /** That worker died: stop forwarding to it. */
  | { type: "peerGone"; worker: number }
  | { type: "stats"; reqId: number }
  | { type: "drain"; deadlineMs: number }
  /** Test hook: throw from the worker's event loop. */
  | { type: "crash" };

export type WorkerToMain =
  | { type: "bound"; addresses: DataPlaneAddresses }
  | { type: "error"; message: string }
  | { type: "stats"; reqId: number; stats: WorkerStats }
  | {
    type: "reconfigured";
    seq: number;
    addresses: DataPlaneAddresses;
    error?: string;
  }
  | { type: "drained"; result: DrainResult };
