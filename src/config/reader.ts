/**
 * A small typed reader over the YAML tree: it checks one protobuf message at a time against its
 * field table, reads scalars with protobuf JSON rules, and records every problem as a
 * {@linkcode ConfigError} with the path and position of the offending node. Readers never throw
 * and return `undefined` for a missing or invalid value, so validation carries on and collects all
 * errors in one pass.
 *
 * @module
 */

import { isMap, isScalar, isSeq, type YAMLMap } from "yaml";
import { parseDuration } from "./duration.ts";
import type { MessageFields } from "./envoy_fields.ts";
import type { ConfigError } from "./types.ts";
import { describeNode, type YamlNode, type YamlSource } from "./yaml_source.ts";

/** An element of a repeated field: its node and its `path[i]`. */
export interface Item {
  node: YamlNode;
  path: string;
}

/** Bounds for {@linkcode Message.duration}, in milliseconds. */
export interface DurationBounds {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  greaterThan?: number;
  /** Exclusive upper bound. */
  lessThan?: number;
}

/** The largest value of a protobuf uint32. */
export const UINT32_MAX = 4_294_967_295;

/**
 * Collects errors while reading a document.
 *
 * @example Read a socket address
 * ```ts
 * import { Reader } from "./reader.ts";
 * import { parseYamlSource } from "./yaml_source.ts";
 * import { SOCKET_ADDRESS } from "./envoy_fields.ts";
 *
 * const src = parseYamlSource("address: 127.0.0.1\nport_value: abc\n");
 * const r = new Reader(src);
 * const sa = r.message(src.root, "socket_address", SOCKET_ADDRESS);
 * sa?.integer("port_value", 0, 65535); // undefined, and r.errors[0].message is 'must be an integer from 0 to 65535, got "abc"'
 * ```
 */
export class Reader {
  readonly errors: ConfigError[] = [];

  constructor(readonly source: YamlSource) {}

  /** Records an error at `node` (or without a position when node is null). */
  error(path: string, node: YamlNode | null, message: string): void {
    const { line, column } = node === null ? { line: 0, column: 0 } : this.source.position(node);
    this.errors.push({ path, line, column, message });
  }

  /**
   * Opens `node` as the message described by `fields`: reports a non-mapping, unknown fields and
   * fields weft does not implement, and returns the rest. Returns undefined for a null node.
   */
  message(node: YamlNode | null | undefined, path: string, fields: MessageFields): Message | undefined {
    if (node === null || node === undefined || isNull(node)) return undefined;
    const map = this.source.resolve(node);
    if (!isMap(map)) {
      this.error(path, map, `must be a mapping, got ${describeNode(map)}`);
      return undefined;
    }
    const { entries, badKeys } = this.source.entries(map);
    for (const k of badKeys) this.error(path, k, `field names must be strings, got ${describeNode(k)}`);
    const values = new Map<string, YamlNode>();
    const spelled = new Map<string, string>();
    let rejected = false;
    for (const { key, keyNode, value } of entries) {
      const name = canonicalName(key, fields);
      if (name === undefined) {
        this.error(path, keyNode, `unknown field ${JSON.stringify(key)}${suggest(key, fields)}`);
        rejected = true;
        continue;
      }
      const first = spelled.get(name);
      if (first !== undefined) {
        this.error(join(path, name), keyNode, `is set twice (as ${JSON.stringify(first)} and ${JSON.stringify(key)})`);
        continue;
      }
      spelled.set(name, key);
      if (value === null || isNull(value)) continue; // protobuf JSON: null means unset
      if (!fields.supported.includes(name)) {
        this.error(join(path, name), keyNode, "is not supported yet by weft");
        rejected = true;
        continue;
      }
      values.set(name, this.source.resolve(value));
    }
    return new Message(this, map, path, values, rejected);
  }

  /** The elements of a list node (an error and no elements if it is not a list). */
  list(node: YamlNode | undefined, path: string): Item[] {
    if (node === undefined) return [];
    if (!isSeq(node)) {
      this.error(path, node, `must be a list, got ${describeNode(node)}`);
      return [];
    }
    const items: Item[] = [];
    node.items.forEach((raw, i) => {
      const item = (raw as YamlNode | null) ?? null;
      const element = item === null ? null : this.source.resolve(item);
      if (element === null || isNull(element)) this.error(`${path}[${i}]`, item ?? node, "must not be null");
      else items.push({ node: element, path: `${path}[${i}]` });
    });
    return items;
  }

  /** The `@type` of a `typed_config` node, read without reporting anything (undefined if absent). */
  peekTypeUrl(node: YamlNode | undefined): string | undefined {
    if (node === undefined || !isMap(node)) return undefined;
    const value = this.source.entries(node).entries.find((e) => e.key === "@type")?.value;
    return isScalar(value) && typeof value.value === "string" ? value.value : undefined;
  }

  /** A string scalar. */
  string(node: YamlNode, path: string): string | undefined {
    if (isScalar(node) && typeof node.value === "string") return node.value;
    this.error(path, node, `must be a string, got ${describeNode(node)}`);
    return undefined;
  }

  /** An integer in [min, max]; protobuf JSON also accepts integers written as strings ("8080"). */
  integer(node: YamlNode, path: string, min: number, max: number): number | undefined {
    const v = isScalar(node) ? node.value : undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    this.error(path, node, `must be an integer from ${min} to ${max}, got ${describeNode(node)}`);
    return undefined;
  }

  /** A number (protobuf double; JSON also writes them as strings) in [min, max]. */
  number(node: YamlNode, path: string, min: number, max: number): number | undefined {
    const v = isScalar(node) ? node.value : undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    if (Number.isFinite(n) && n >= min && n <= max) return n;
    this.error(path, node, `must be a number from ${min} to ${max}, got ${describeNode(node)}`);
    return undefined;
  }

  /** A boolean. */
  bool(node: YamlNode, path: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === "boolean") return node.value;
    this.error(path, node, `must be true or false, got ${describeNode(node)}`);
    return undefined;
  }
}

/** One protobuf message being read: typed accessors for its fields. */
export class Message {
  constructor(
    readonly reader: Reader,
    readonly node: YamlNode,
    readonly path: string,
    private readonly values: Map<string, YamlNode>,
    /**
     * Whether a field of this message was reported as unknown or unsupported. A "must set one of"
     * error would only repeat that (e.g. `address: {pipe: ...}` lacks `socket_address`), so such
     * checks are skipped then.
     */
    readonly rejected = false,
  ) {}

  /** Whether the (supported) field is set to something other than null. */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The node of a set field. */
  get(name: string): YamlNode | undefined {
    return this.values.get(name);
  }

  /** The path of a field of this message. */
  at(name: string): string {
    return join(this.path, name);
  }

  /** Reports the field as missing unless it is set; returns whether it is set. */
  require(name: string): boolean {
    if (this.values.has(name)) return true;
    this.reader.error(this.at(name), this.node, "is required");
    return false;
  }

  /** A string field; `required` reports absence, `nonEmpty` reports "". */
  string(name: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const node = this.values.get(name);
    if (node === undefined) {
      if (opts.required) this.require(name);
      return undefined;
    }
    const s = this.reader.string(node, this.at(name));
    if (s === "" && (opts.nonEmpty || opts.required)) {
      this.reader.error(this.at(name), node, "must not be empty");
      return undefined;
    }
    return s;
  }

  /** An integer field (also a protobuf `UInt32Value` wrapper) in [min, max]. */
  integer(name: string, min: number, max: number): number | undefined {
    const node = this.values.get(name);
    return node === undefined ? undefined : this.reader.integer(node, this.at(name), min, max);
  }

  /** A number field (protobuf double) in [min, max]. */
  number(name: string, min: number, max: number): number | undefined {
    const node = this.values.get(name);
    return node === undefined ? undefined : this.reader.number(node, this.at(name), min, max);
  }

  /** A boolean field (also a `BoolValue` wrapper). */
  bool(name: string): boolean | undefined {
    const node = this.values.get(name);
    return node === undefined ? undefined : this.reader.bool(node, this.at(name));
  }

  /**
   * An enum field by value name. `supported` are the values weft implements, `unsupported` the
   * other values Envoy defines. Case does not matter (`round_robin` is `ROUND_ROBIN`): Envoy parses
   * its JSON with protobuf's `case_insensitive_enum_parsing`, which upper-cases a name that does
   * not match as written.
   */
  enum<T extends string>(name: string, supported: readonly T[], unsupported: readonly string[]): T | undefined {
    const node = this.values.get(name);
    if (node === undefined) return undefined;
    const raw = isScalar(node) ? node.value : undefined;
    const v = typeof raw === "string" ? raw.toUpperCase() : raw;
    if (typeof v === "string" && (supported as readonly string[]).includes(v)) return v as T;
    if (typeof v === "string" && unsupported.includes(v)) {
      this.reader.error(this.at(name), node, `${v} is not supported yet by weft (supported: ${supported.join(", ")})`);
    } else {
      const all = [...supported, ...unsupported].join(", ");
      this.reader.error(this.at(name), node, `must be one of ${all}, got ${describeNode(node)}`);
    }
    return undefined;
  }

  /** A `google.protobuf.Duration` field in milliseconds, checked against Envoy's bounds. */
  duration(name: string, bounds: DurationBounds = {}): number | undefined {
    const node = this.values.get(name);
    if (node === undefined) return undefined;
    const raw = isMap(node) ? (node as YAMLMap).toJSON() : isScalar(node) ? node.value : isSeq(node) ? [] : undefined;
    const parsed = parseDuration(raw);
    const path = this.at(name);
    if (!parsed.ok) {
      this.reader.error(path, node, parsed.message);
      return undefined;
    }
    const { ms } = parsed;
    const got = `, got ${describeNode(node)}`;
    const fail = (message: string) => {
      this.reader.error(path, node, message + (isMap(node) ? "" : got));
      return undefined;
    };
    if (bounds.min !== undefined && ms < bounds.min) return fail(`must be at least ${seconds(bounds.min)}`);
    if (bounds.greaterThan !== undefined && ms <= bounds.greaterThan) {
      return fail(`must be greater than ${seconds(bounds.greaterThan)}`);
    }
    if (bounds.lessThan !== undefined && ms >= bounds.lessThan) {
      return fail(`must be less than ${seconds(bounds.lessThan)}`);
    }
    return ms;
  }

  /** A nested message field. */
  message(name: string, fields: MessageFields): Message | undefined {
    return this.reader.message(this.values.get(name), this.at(name), fields);
  }

  /** A repeated field's elements (none when absent). */
  list(name: string): Item[] {
    return this.reader.list(this.values.get(name), this.at(name));
  }

  /**
   * Checks the `@type` of a `typed_config` (this message) is `expected`; reports a missing or
   * different one. Returns whether it matched.
   */
  typeUrl(expected: string, required = true): boolean {
    const node = this.values.get("@type");
    if (node === undefined) {
      if (required) this.require("@type");
      return !required;
    }
    const url = this.reader.string(node, this.at("@type"));
    if (url === undefined) return false;
    if (url === expected) return true;
    this.reader.error(this.at("@type"), node, `must be ${JSON.stringify(expected)}, got ${JSON.stringify(url)}`);
    return false;
  }
}

/** `a.b` path joining where the root path is "". */
export function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function isNull(node: YamlNode): boolean {
  return isScalar(node) && (node.value === null || node.value === undefined);
}

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

/** The field a key names: itself, or the snake_case field of a protobuf JSON lowerCamelCase key. */
function canonicalName(key: string, fields: MessageFields): string | undefined {
  const known = (k: string) => fields.supported.includes(k) || fields.unsupported.includes(k);
  if (known(key)) return key;
  const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake !== key && known(snake) ? snake : undefined;
}

/** `; did you mean "x"?` for a near miss (edit distance ≤ 2), else "". */
function suggest(key: string, fields: MessageFields): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of [...fields.supported, ...fields.unsupported]) {
    const d = editDistance(key.toLowerCase(), name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== undefined && key.length > 3 ? `; did you mean ${JSON.stringify(best)}?` : "";
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
