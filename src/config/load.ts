/**
 * Reads a bootstrap file (or the embedded default) and reports every error with file, line, column
 * and YAML path. Used at startup, by `proxy validate`, and by live reload.
 *
 * @example
 * ```ts
 * const loaded = await loadBootstrap("envoy.yaml");
 * if (!loaded.ok) for (const m of loaded.messages) console.error(m);
 * ```
 * @module
 */
import { parse as parseYaml } from "yaml";
import { readFile } from "node:fs/promises";
import { decodeConfigBytes } from "./encoding.ts";
import { DEFAULT_BOOTSTRAP_YAML, formatConfigError, parseBootstrap } from "./mod.ts";
import type { Bootstrap } from "./types.ts";

export interface LoadedBootstrap {
  ok: true;
  bootstrap: Bootstrap;
  /** The document as written (for /config_dump), read when first asked for. */
  readonly raw: unknown;
  /** The file path, or "embedded default". */
  source: string;
}

export type LoadResult = LoadedBootstrap | { ok: false; messages: string[] };

/**
 * Reads a config file and decodes its bytes (see {@linkcode decodeConfigBytes}), the same way on
 * every runtime: the bootstrap and the tunnel's workload file both come through here.
 *
 * @example
 * ```ts
 * const read = await readConfigText("envoy.yaml");
 * if (!read.ok) console.error(read.message); // "envoy.yaml:3:7: the file is not valid UTF-8 (byte 0xe9)…"
 * ```
 */
export async function readConfigText(path: string): Promise<{ ok: true; text: string } | { ok: false; message: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return { ok: false, message: `${path}: cannot read the config file: ${e instanceof Error ? e.message : e}` };
  }
  const decoded = decodeConfigBytes(bytes);
  if (!decoded.ok) {
    const at = decoded.line === undefined ? "" : `:${decoded.line}:${decoded.column}`;
    return { ok: false, message: `${path}${at}: ${decoded.message}` };
  }
  return { ok: true, text: decoded.text };
}

/** Reads, decodes (see {@linkcode readConfigText}) and validates `path`, or the embedded default when null. */
export async function loadBootstrap(path: string | null): Promise<LoadResult> {
  let text = DEFAULT_BOOTSTRAP_YAML;
  if (path !== null) {
    const read = await readConfigText(path);
    if (!read.ok) return { ok: false, messages: [read.message] };
    text = read.text;
  }
  const result = parseBootstrap(text);
  if (!result.ok) return { ok: false, messages: result.errors.map((e) => formatConfigError(e, path ?? "<embedded default>")) };
  // The document as written is only for /config_dump: read it then, not on every load (and never
  // for `proxy validate`), since it costs as much as the validation itself.
  let raw: unknown;
  return {
    ok: true,
    bootstrap: result.bootstrap,
    get raw() {
      if (raw === undefined) raw = parseYaml(text, { merge: true }) ?? null;
      return raw;
    },
    source: path ?? "embedded default",
  };
}
