/**
 * `GET /runtime`: the runtime layers and every key's value in each, in Envoy's format, plus the keys
 * weft gives no effect (`unknown_keys`, weft's addition: Envoy reads every key somewhere, weft only
 * the few it has a setting for).
 *
 * @module
 */
import { type AdminRegistry, json } from "../admin/registry.ts";
import type { LayeredRuntime } from "../config/types.ts";

/** Envoy's `/runtime` body. */
export interface RuntimeResponse {
  layers: string[];
  entries: Record<string, { layer_values: string[]; final_value: string }>;
  unknown_keys: string[];
}

/**
 * The body of `/runtime` for `runtime`: each key with its value per layer ("" where a layer does not
 * set it) and the value of the last layer that does.
 *
 * @example
 * ```ts
 * runtimeResponse({ layers: [{ name: "static", entries: { "a.b": "1" } }], unknownKeys: ["a.b"] });
 * // { layers: ["static"], entries: { "a.b": { layer_values: ["1"], final_value: "1" } }, unknown_keys: ["a.b"] }
 * ```
 */
export function runtimeResponse(runtime: LayeredRuntime): RuntimeResponse {
  const keys = new Set<string>();
  for (const l of runtime.layers) for (const k of Object.keys(l.entries)) keys.add(k);
  const entries: RuntimeResponse["entries"] = {};
  for (const key of [...keys].sort()) {
    const layerValues = runtime.layers.map((l) => l.entries[key] ?? "");
    const final = runtime.layers.findLast((l) => key in l.entries)?.entries[key] ?? "";
    entries[key] = { layer_values: layerValues, final_value: final };
  }
  return { layers: runtime.layers.map((l) => l.name), entries, unknown_keys: runtime.unknownKeys };
}

/** Adds `/runtime`, reading the current config's runtime at each request. */
export function registerRuntimeAdmin(admin: AdminRegistry, runtime: () => LayeredRuntime): void {
  admin.add({
    path: "/runtime",
    help: "print runtime values (JSON, as Envoy's)",
    handle: () => json(runtimeResponse(runtime())),
  });
}
