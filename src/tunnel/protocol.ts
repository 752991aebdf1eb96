/**
 * The tunnel's part of the shared main↔worker protocol (`src/worker/messages.ts`): the payload its
 * workers start with, the snapshots main broadcasts, the ports and certificates they carry.
 * Plain data only (structured clone; the pool-owner table is a SharedArrayBuffer).
 *
 * @module
 */

import { formatHostPort } from "../config/address.ts";
import type { WorkloadCert } from "../tls/ca.ts";
import type { BoundListener } from "../worker/messages.ts";
import type { LogFormat } from "./access_log.ts";
import type { LocalConfig } from "./config.ts";

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

/** A minted certificate as shipped to workers (plain data, so it survives postMessage). */
export type CertData = WorkloadCert;

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

/** What every worker starts with (`InitOptions.payload`); the worker adds its id. */
export type TunnelPayload = Omit<DataPlaneInit, "workerId">;

/** A new snapshot for the workers (`WorkerPool.broadcast`): new certificates, a new config, or both. */
export interface TunnelUpdate {
  certs?: CertMap;
  config?: LocalConfig;
}

/** The data-plane addresses main reports, from the listeners a worker bound. */
export function dataPlaneAddresses(listeners: readonly BoundListener[]): DataPlaneAddresses {
  const out: DataPlaneAddresses = { outbound: "", socks5: "", hbone: {}, inboundPlaintext: {} };
  for (const l of listeners) {
    const address = formatHostPort(l.hostname, l.port);
    if (l.name === "outbound") out.outbound = address;
    else if (l.name === "socks5") out.socks5 = address;
    else if (l.name === "hbone") out.hbone[l.hostname] = address;
    else if (l.name === "inbound_plaintext") out.inboundPlaintext[l.hostname] = address;
  }
  return out;
}

/** The ports a worker binds: the configured ones, with those the first worker resolved from 0. */
export function resolvePorts(ports: TunnelPorts, resolved: Record<string, number>): TunnelPorts {
  return {
    ...ports,
    outbound: resolved["outbound"] ?? ports.outbound,
    socks5: resolved["socks5"] ?? ports.socks5,
    hbone: resolved["hbone"] ?? ports.hbone,
    inboundPlaintext: resolved["inbound_plaintext"] ?? ports.inboundPlaintext,
  };
}
