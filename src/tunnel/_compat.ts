/**
 * The one place the tunnel adapts to a runtime difference it cannot avoid through `node:` APIs
 * (to be folded into `src/runtime/` when the tunnel moves onto the shared runtime).
 *
 * @module
 */

import process from "node:process";

/**
 * Whether `Http2Session.setLocalWindowSize` works. On Bun 1.4.5 calling it stalls the session;
 * Bun already grows the connection window, Deno needs the call to exceed 64 KiB in flight.
 */
export const CAN_SET_LOCAL_WINDOW: boolean = !process.versions.bun;

/** "deno 2.x" or "bun 1.x". */
export const RUNTIME: string = process.versions.bun
  ? `bun ${process.versions.bun}`
  : `deno ${
    (process.versions as Record<string, string | undefined>).deno ?? "?"
  }`;
