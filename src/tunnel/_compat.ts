/**
 * The one place the tunnel adapts to a runtime difference it cannot avoid through `node:` APIs
 * (to be folded into `src/runtime/` when the tunnel moves onto the shared runtime).
 *
 * @module
 */

import process from "node:process";

/**
 * How an HBONE session's connection-level receive window is raised (HTTP/2 starts it at 64 KiB,
 * which caps every stream of the connection at one window per event-loop round trip): `"now"`
 * (Deno: needed to exceed 64 KiB in flight), on the session's own `"localSettings"`, or `"never"`.
 * Measured on Bun 1.4.5: a server session called earlier (in the `session` handler, on
 * `remoteSettings`) stalls, and so does a 64 MiB window once several streams have run; 16 MiB on
 * `localSettings` takes HBONE uploads from 0.21–0.27× to 0.40–0.55× haproxy. A client session
 * called at any point stalls its downloads, so Bun's client keeps the default window.
 */
export const GROW_SESSION_WINDOW: {
  server: { when: "now" | "localSettings"; bytes: number };
  client: { when: "now"; bytes: number } | { when: "never" };
} = process.versions.bun
  ? { server: { when: "localSettings", bytes: 16 << 20 }, client: { when: "never" } }
  : { server: { when: "now", bytes: 64 << 20 }, client: { when: "now", bytes: 64 << 20 } };

/** "deno 2.x" or "bun 1.x". */
export const RUNTIME: string = process.versions.bun
  ? `bun ${process.versions.bun}`
  : `deno ${
    (process.versions as Record<string, string | undefined>).deno ?? "?"
  }`;
