/**
 * `layered_runtime`: Envoy's runtime layers, static ones only. A static layer is a
 * `google.protobuf.Struct` that Envoy flattens into dotted keys (`overload: {a: 1}` is `overload.a`
 * = "1"); later layers override earlier ones. weft gives effect to the keys it has a setting for
 * and lists the others in `/runtime` as unknown to it.
 *
 * @module
 */

import { isMap, isScalar } from "yaml";
import * as F from "./envoy_fields.ts";
import type { Message, Reader } from "./reader.ts";
import type { LayeredRuntime, Listener } from "./types.ts";
import { describeNode, type YamlNode } from "./yaml_source.ts";

/** Envoy's (deprecated, still honoured) runtime key for the global downstream connection limit. */
export const GLOBAL_MAX_CONNECTIONS_KEY = "overload.global_downstream_max_connections";

/** Envoy's runtime key for one listener's connection limit. */
export function listenerConnectionLimitKey(listenerName: string): string {
  return `envoy.resource_limits.listener.${listenerName}.connection_limit`;
}

/** A key's value in the last layer that sets it, with where it was written. */
interface FinalEntry {
  value: string;
  node: YamlNode;
  path: string;
}

/** The layers as read, and each key's final entry (for the effects and their errors). */
export interface ReadRuntime {
  layers: LayeredRuntime["layers"];
  finals: Map<string, FinalEntry>;
}

/**
 * Reads `layered_runtime.layers`; disk, admin and RTDS layers are refused as not supported yet.
 *
 * @example
 * ```ts
 * // const runtime = readLayeredRuntime(bootstrapMessage.message("layered_runtime", LAYERED_RUNTIME));
 * // runtime.finals.get("overload.global_downstream_max_connections")?.value === "5000"
 * ```
 */
export function readLayeredRuntime(m: Message | undefined): ReadRuntime {
  const layers: LayeredRuntime["layers"] = [];
  const finals = new Map<string, FinalEntry>();
  for (const item of m?.list("layers") ?? []) {
    const layer = m!.reader.message(item.node, item.path, F.RUNTIME_LAYER);
    if (layer === undefined) continue;
    const name = layer.string("name", { required: true });
    const entries: Record<string, string> = {};
    const staticLayer = layer.get("static_layer");
    if (staticLayer === undefined) {
      if (!layer.rejected) layer.reader.error(item.path, item.node, "must set static_layer (the layer types weft supports)");
    } else {
      flatten(layer.reader, staticLayer, layer.at("static_layer"), "", (key, value, node, path) => {
        entries[key] = value;
        finals.set(key, { value, node, path });
      });
    }
    if (name !== undefined) layers.push({ name, entries });
  }
  return { layers, finals };
}

/** Walks a Struct as Envoy's ProtoLayer does: maps nest with ".", scalars are values, the rest is refused. */
function flatten(r: Reader, node: YamlNode | null, path: string, prefix: string, add: (key: string, value: string, node: YamlNode, path: string) => void): void {
  const resolved = node === null ? null : r.source.resolve(node);
  if (resolved !== null && isMap(resolved)) {
    const { entries, badKeys } = r.source.entries(resolved);
    for (const k of badKeys) r.error(path, k, `field names must be strings, got ${describeNode(k)}`);
    for (const { key, value } of entries) {
      const full = prefix === "" ? key : `${prefix}.${key}`;
      flatten(r, value, `${path}.${key}`, full, add);
    }
    return;
  }
  const v = resolved !== null && isScalar(resolved) ? resolved.value : undefined;
  if (resolved !== null && prefix !== "" && (typeof v === "string" || typeof v === "number" || typeof v === "boolean")) {
    add(prefix, String(v), resolved, path);
    return;
  }
  // Envoy: "Invalid runtime entry value for <key>".
  r.error(path, resolved ?? node, `invalid runtime entry value for ${JSON.stringify(prefix)}: must be a string, number or boolean, got ${describeNode(resolved)}`);
}

/**
 * Applies the keys weft understands: the global connection limit (where the overload manager sets
 * none, which wins in Envoy) and each listener's `connection_limit` (where its `max_connections`
 * is unset). Returns the model's runtime, with the keys that had no effect.
 */
export function applyRuntime(
  r: Reader,
  runtime: ReadRuntime,
  listeners: Listener[],
  globalMaxConnections: number | null,
): { runtime: LayeredRuntime; globalMaxConnections: number | null } {
  const used = new Set<string>();
  const integer = (key: string): number | undefined => {
    const e = runtime.finals.get(key);
    if (e === undefined) return undefined;
    used.add(key);
    const n = /^\d+$/.test(e.value.trim()) ? Number(e.value) : NaN;
    if (Number.isSafeInteger(n) && n >= 1) return n;
    r.error(e.path, e.node, `must be a positive integer (runtime key ${key}), got ${JSON.stringify(e.value)}`);
    return undefined;
  };
  const global = integer(GLOBAL_MAX_CONNECTIONS_KEY);
  for (const l of listeners) {
    const limit = integer(listenerConnectionLimitKey(l.name));
    if (limit !== undefined && l.maxConnections === null) l.maxConnections = limit;
  }
  const unknownKeys = [...runtime.finals.keys()].filter((k) => !used.has(k)).sort();
  return { runtime: { layers: runtime.layers, unknownKeys }, globalMaxConnections: globalMaxConnections ?? global ?? null };
}
