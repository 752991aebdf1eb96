/**
 * The YAML (or JSON) source of a configuration as a tree of nodes that remember where they came
 * from: parse once with a line counter, then ask any node for its 1-based line and column.
 * Bootstrap-shaped YAML is read by `yaml_fast.ts` in one pass; anything else (and every syntax
 * error) by the `yaml` package.
 *
 * @module
 */

import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { ConfigError } from "./types.ts";
import { parseFastYaml } from "./yaml_fast.ts";

/** A node of the YAML tree: a mapping, a sequence, a scalar or an alias. */
export type YamlNode = Node;

/** One `key: value` of a mapping, with merge keys (`<<: *anchor`) already expanded. */
export interface YamlEntry {
  key: string;
  keyNode: YamlNode;
  value: YamlNode | null;
}

/** A parsed document and the means to locate its nodes. */
export interface YamlSource {
  /** The top-level node, or null for an empty document. */
  root: YamlNode | null;
  /** YAML syntax errors (and warnings such as unknown tags), with positions. */
  errors: ConfigError[];
  /** 1-based line and column where `node` starts. */
  position(node: YamlNode): { line: number; column: number };
  /** The node an alias (`*name`) points to; other nodes unchanged. */
  resolve(node: YamlNode): YamlNode;
  /** The entries of a mapping in source order, merge keys expanded; keys that are not strings are reported. */
  entries(map: YamlNode): { entries: YamlEntry[]; badKeys: YamlNode[] };
}

/**
 * Parses YAML 1.2 (JSON is a subset) keeping every node's source range.
 *
 * @example Find where a value is
 * ```ts
 * import { parseYamlSource } from "./yaml_source.ts";
 * import { isMap } from "yaml";
 *
 * const src = parseYamlSource("admin:\n  address: x\n");
 * const admin = isMap(src.root) ? src.root.get("admin", true) : null;
 * // admin && src.position(admin) → { line: 2, column: 3 }
 * ```
 */
export function parseYamlSource(text: string): YamlSource {
  const fast = parseFastYaml(text);
  if (fast !== null) {
    const { lineStarts } = fast;
    const identity = (node: YamlNode) => node;
    return {
      root: fast.root,
      errors: [],
      position: (node) => linePosition(lineStarts, node.range?.[0] ?? 0),
      resolve: identity,
      entries: (map) => mapEntries(map, identity),
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // One syntax error cascades into dozens; keep the first, plus every duplicate key and warning.
  const firstSyntaxError = doc.errors.find((e) => e.code !== "DUPLICATE_KEY");
  const reported = [
    ...(firstSyntaxError === undefined ? [] : [firstSyntaxError]),
    ...doc.errors.filter((e) => e.code === "DUPLICATE_KEY"),
    ...doc.warnings,
  ];
  const errors: ConfigError[] = reported.map((e) => ({
    path: "",
    ...at(e.pos[0]),
    message: `invalid YAML: ${e.message.replace(/\s+/g, " ").trim()}`,
  }));
  const resolve = (node: YamlNode): YamlNode => {
    if (!isAlias(node)) return node;
    const target = node.resolve(doc as Document);
    return target === undefined ? node : resolve(target as YamlNode);
  };
  return {
    root: doc.contents as YamlNode | null,
    errors,
    position: (node) => at(node.range?.[0] ?? 0),
    resolve,
    entries: (map) => mapEntries(resolve(map), resolve),
  };
}

/** 1-based line and column of `offset`, given where each line starts (ascending). */
function linePosition(lineStarts: number[], offset: number): { line: number; column: number } {
  let lo = 0, hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
}

function mapEntries(
  map: YamlNode,
  resolve: (n: YamlNode) => YamlNode,
): { entries: YamlEntry[]; badKeys: YamlNode[] } {
  const entries: YamlEntry[] = [];
  const badKeys: YamlNode[] = [];
  if (!isMap(map)) return { entries, badKeys };
  const merged: YamlEntry[] = [];
  for (const pair of map.items) {
    const key = pair.key as YamlNode | null;
    const value = (pair.value as YamlNode | null) ?? null;
    if (isScalar(key) && typeof key.value === "symbol" && value !== null) {
      // `<<: *base` or `<<: [*a, *b]`: explicit keys win, earlier merged maps win over later ones.
      const sources = isSeq(resolve(value)) ? (resolve(value) as { items: YamlNode[] }).items : [value];
      for (const source of sources) merged.push(...mapEntries(resolve(source), resolve).entries);
      continue;
    }
    if (isScalar(key) && typeof key.value === "string") entries.push({ key: key.value, keyNode: key, value });
    else if (key !== null) badKeys.push(key);
  }
  for (const m of merged) if (!entries.some((e) => e.key === m.key)) entries.push(m);
  return { entries, badKeys };
}

/**
 * Describes a node's value for an error message: strings quoted, numbers and booleans as written,
 * collections by kind.
 */
export function describeNode(node: YamlNode | null): string {
  if (node === null) return "null";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isAlias(node)) return "an alias";
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "string") return JSON.stringify(v);
    if (v === null || v === undefined) return "null";
    return String(v);
  }
  return "an unknown node";
}
