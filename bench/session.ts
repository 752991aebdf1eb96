/**
 * What one harness session measured: the shapes run.ts fills in and report.ts renders (also written
 * as JSON next to the markdown results).
 *
 * @module
 */
import type { IdleResult } from "./idle_conns.ts";
import type { InspectorStats } from "./inspector.ts";
import type { InstrumentationCost } from "./instrumentation_cost.ts";
import type { Machine } from "./machine.ts";
import type { PeerSpec } from "./peers.ts";
import type { ThreadCpu } from "./procstat.ts";
import type { StreamResult } from "./streaming.ts";

export interface CaseDef {
  id: string;
  label: string;
  /** null: straight to the backend. */
  spec: PeerSpec | null;
  /** Hold weft's /events open during the run (a simulated attached inspector). */
  inspector?: boolean;
}

export interface ThroughputSample {
  caseId: string;
  round: number;
  rps: number;
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  /** The proxy's CPU over the measured window, seconds. */
  cpu: { user: number; sys: number } | null;
  /** The backend's CPU over the same window, seconds. */
  backendCpu: { user: number; sys: number };
  /** VmHWM summed over the proxy's processes, bytes. */
  peakRss: number | null;
  /** Highest VmRSS sampled during the measured window, bytes. */
  loadRss: number | null;
  /** Per-thread CPU seconds of the proxy during the window. */
  threads: ThreadCpu[] | null;
  /** weft's own count of downstream requests (from /stats) after the run. */
  weftRequests: number | null;
  inspector: InspectorStats | null;
  /** wrk's CPU over the run, seconds. */
  wrkCpu: { user: number; sys: number } | null;
  /**
   * CPUs busy with anything else during the measured window (machine busy time − proxy − backend −
   * wrk − harness), in cores: other people's work on a shared machine.
   */
  foreignCores: number;
  /** Machine busy cores just before the run, after waiting for quiet. */
  busyBefore: number;
  /** Runs it took (repeated when other processes used CPU during the run). */
  attempts: number;
}

export interface StreamSample {
  caseId: string;
  round: number;
  result: StreamResult;
  /** Highest VmRSS sampled during the download, bytes. */
  loadRss: number | null;
}

export interface IdleSample {
  caseId: string;
  round: number;
  result: IdleResult;
}

export interface Incident {
  phase: string;
  caseId: string;
  round: number;
  what: string;
  command: string;
  log: string;
}

export interface ProfileShare {
  share: number;
  what: string;
}

export interface ProfileEntry {
  caseId: string;
  command: string;
  seconds: number;
  rps: number;
  samples: number;
  /** perf stat over the window, divided by the requests wrk completed in it. */
  syscallsPerRequest: number;
  contextSwitchesPerRequest: number;
  /** perf's view: share of samples per thread name, per DSO, and the top symbols. */
  threads: ProfileShare[];
  dsos: ProfileShare[];
  symbols: ProfileShare[];
  /** The hottest JIT-compiled JavaScript functions. */
  js: ProfileShare[];
}

export interface Session {
  startedAt: string;
  finishedAt: string;
  command: string;
  options: {
    rounds: number;
    durationS: number;
    warmupS: number;
    idleConnections: number;
    streamBytes: number;
    quick: boolean;
    runtimes: string[];
    weftRef: string | null;
    quietCores: number;
    quietWaitS: number;
    retries: number;
  };
  machine: Machine;
  nofileLimit: number;
  cases: (CaseDef & { description: string })[];
  throughput: ThroughputSample[];
  streaming: StreamSample[];
  idle: IdleSample[];
  profiles: ProfileEntry[];
  incidents: Incident[];
  /** `bench/instrumentation_cost.ts` per weft runtime, run after throughput pairs with instrumentation off. */
  instrumentationCost?: Record<string, InstrumentationCost>;
}
