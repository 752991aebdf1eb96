/**
 * Entry of a tunnel data-plane worker (a Web Worker). Receives `init`, binds its listeners with
 * reusePort, then serves config and certificate updates, stats requests and drain.
 *
 * @module
 */

import { currentRuntime } from "../runtime/mod.ts";
import { DataPlane } from "./dataplane.ts";
import type { MainToWorker, WorkerToMain } from "./protocol.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any as {
  postMessage(m: WorkerToMain): void;
  onmessage: ((e: MessageEvent<MainToWorker>) => void) | null;
  close(): void;
};

let dp: DataPlane | undefined;
const post = (m: WorkerToMain) => scope.postMessage(m);
let queue: Promise<unknown> = Promise.resolve();

scope.onmessage = (e) => {
  const m = e.data;
  // Serialize state-changing messages; answer stats at once.
  if (m.type === "stats") {
    if (dp) post({ type: "stats", reqId: m.reqId, stats: dp.stats() });
    return;
  }
  queue = queue.then(() => handle(m)).catch((err) => post({ type: "error", message: String((err as Error)?.message ?? err) }));
};

async function handle(m: MainToWorker): Promise<void> {
  switch (m.type) {
    case "init": {
      dp = new DataPlane(m.init, (line) => console.log(line), await currentRuntime());
      const addresses = await dp.bind();
      post({ type: "bound", addresses });
      return;
    }
    case "config": {
      if (!dp) return;
      try {
        const addresses = await dp.updateConfig(m.config);
        post({ type: "reconfigured", seq: m.seq, addresses });
      } catch (err) {
        post({ type: "reconfigured", seq: m.seq, addresses: dp.addresses(), error: (err as Error).message });
      }
      return;
    }
    case "certs":
      await dp?.updateCerts(m.certs);
      return;
    case "peers":
      for (const [id, port] of Object.entries(m.ports)) dp?.addPeer(Number(id), port);
      return;
    case "peerGone":
      dp?.removePeer(m.worker);
      return;
    case "crash":
      setTimeout(() => {
        throw new Error("crash requested by test hook");
      });
      return;
    case "drain": {
      if (!dp) return post({ type: "drained", result: { forced: 0, tookMs: 0 } });
      const result = await dp.drain(m.deadlineMs);
      post({ type: "drained", result });
      return;
    }
  }
}
