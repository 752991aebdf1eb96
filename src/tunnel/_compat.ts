/**
 * The runtime's name as the tunnel reports it (to be folded into `src/runtime/` when the tunnel
 * moves onto the shared runtime).
 *
 * @module
 */

import process from "node:process";

/** "deno 2.x" or "bun 1.x". */
export const RUNTIME: string = process.versions.bun
  ? `bun ${process.versions.bun}`
  : `deno ${
    (process.versions as Record<string, string | undefined>).deno ?? "?"
  }`;
