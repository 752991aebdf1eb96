/**
 * Reads a bootstrap file (or the embedded default) and reports every error with file, line, column
 * and YAML path. Shared by `proxy serve` and `proxy validate`.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { DEFAULT_BOOTSTRAP_YAML, formatConfigError, parseBootstrap } from "../src/config/mod.ts";
import type { Bootstrap } from "../src/config/types.ts";
import type { Runtime } from "../src/runtime/types.ts";

export type LoadedConfig =
  | { ok: true; bootstrap: Bootstrap; raw: unknown; source: string }
  | { ok: false; messages: string[] };

export async function loadBootstrap(runtime: Runtime, path: string | undefined): Promise<LoadedConfig> {
  let text = DEFAULT_BOOTSTRAP_YAML;
  const source = path ?? "embedded default";
  if (path !== undefined) {
    try {
      text = await runtime.readTextFile(path);
    } catch (e) {
      return { ok: false, messages: [`${path}: cannot read the config file: ${e instanceof Error ? e.message : e}`] };
    }
  }
  const result = parseBootstrap(text);
  if (!result.ok) return { ok: false, messages: result.errors.map((e) => formatConfigError(e, path ?? "<embedded default>")) };
  let raw: unknown = null;
  try {
    raw = parseYaml(text, { merge: true });
  } catch { /* parseBootstrap accepted it, so this does not happen */ }
  return { ok: true, bootstrap: result.bootstrap, raw, source };
}
