/**
 * Entry of a tunnel data-plane worker (a Web Worker) on the shared worker host
 * (`src/worker/worker_host.ts`), which answers the watchdog, flushes stats and the dispatcher's
 * report, and runs the test hooks; {@linkcode TunnelWorker} is the tunnel's part.
 *
 * @module
 */

import { currentRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { BoundListener, DrainOptions, InitOptions, UpdateResult } from "../worker/messages.ts";
import { hostWorker, type WorkerMode } from "../worker/worker_host.ts";
import { DataPlane } from "./dataplane.ts";
import { resolvePorts, type TunnelPayload, type TunnelUpdate } from "./protocol.ts";

/** The tunnel inside one worker: a {@linkcode DataPlane} driven by the shared protocol. */
class TunnelWorker implements WorkerMode {
  #dp: DataPlane | undefined;

  constructor(private readonly runtime: Runtime) {}

  #dataPlane(): DataPlane {
    if (this.#dp === undefined) throw new Error("the tunnel worker has not started");
    return this.#dp;
  }

  async start(init: InitOptions, dispatcher: Dispatcher): Promise<BoundListener[]> {
    const payload = init.payload as TunnelPayload;
    // Worker 0 resolves ports of 0; the others bind the same ports (reusePort).
    const ports = resolvePorts(payload.ports, init.resolvedPorts);
    this.#dp = new DataPlane({ ...payload, ports, workerId: init.workerId }, dispatcher, (line) => console.log(line), this.runtime);
    await this.#dp.bind();
    return this.#dp.boundListeners();
  }

  async update(payload: unknown): Promise<UpdateResult> {
    const dp = this.#dataPlane();
    const update = payload as TunnelUpdate;
    const errors: string[] = [];
    try {
      if (update.certs) await dp.updateCerts(update.certs);
      if (update.config) await dp.updateConfig(update.config);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
    return { listeners: dp.boundListeners(), errors };
  }

  async drain(options: DrainOptions): Promise<void> {
    await this.#dp?.drain(options.deadlineMs);
  }

  beforeFlush(): void {
    this.#dp?.syncPoolRows();
  }

  connectPeers(ports: Record<number, MessagePort>): void {
    for (const [id, port] of Object.entries(ports)) this.#dataPlane().addPeer(Number(id), port);
  }

  peerGone(worker: number): void {
    this.#dp?.removePeer(worker);
  }
}

hostWorker(currentRuntime().then((runtime) => new TunnelWorker(runtime)));
