/**
 * A one-pass reader for the YAML that bootstrap files are made of (block mappings and sequences,
 * flow collections, plain and quoted scalars on one line, comments). It builds small nodes that the
 * `yaml` package's `isMap`/`isSeq`/`isScalar` recognise (the package's own node type symbol, on the
 * prototype) with `items`, `key`, `value`, `range[0]` and `toJSON()` as the package's, so the reader
 * works on either; without the package's concrete syntax tree and document model, which for a
 * 28 MB bootstrap with 100,000 clusters took minutes and gigabytes.
 *
 * Anything outside that subset (anchors and aliases, tags, block scalars, multi-line scalars,
 * complex keys, duplicate keys, keys that are not strings, empty values, directives, tabs, CR,
 * byte order marks, flow collections not indented past their block, any syntax error) makes it
 * return null, and the caller parses the text with the `yaml` package instead, which also
 * reports the errors. So it only ever reads a document that the package reads the same way
 * (`yaml_fast_test.ts` compares both on the same documents, node by node, and
 * `yaml_fast_fuzz_test.ts` on 20,000 generated ones).
 *
 * @module
 */
import type { Node } from "yaml";

/** The root node and the offset where each line starts. */
export interface FastYaml {
  root: Node | null;
  lineStarts: number[];
}

/** Thrown inside the reader when the text leaves the subset; caught by {@linkcode parseFastYaml}. */
class OutsideSubset extends Error {}

const outside = (): never => {
  throw new OutsideSubset();
};

/**
 * Reads `text` if it stays inside the subset, else returns null.
 *
 * @example
 * ```ts
 * import { parseFastYaml } from "./yaml_fast.ts";
 *
 * parseFastYaml("admin:\n  port: 9901\n")?.root; // a YAMLMap
 * parseFastYaml("a: &x 1\nb: *x\n"); // null (anchors): use the yaml package
 * ```
 */
export function parseFastYaml(text: string): FastYaml | null {
  try {
    return new FastReader(text).document();
  } catch (e) {
    // Nesting deeper than the stack: the package may still read it (it keeps its own stacks).
    if (e instanceof OutsideSubset || e instanceof RangeError) return null;
    throw e;
  }
}

const NODE_TYPE = Symbol.for("yaml.node.type");

/** What the reader uses of a node: where it starts (the package's `range[0]`). */
abstract class FastNode {
  constructor(readonly start: number) {}
  get range(): [number, number, number] {
    return [this.start, this.start, this.start];
  }
  abstract toJSON(): unknown;
}

class FastScalar extends FastNode {
  constructor(readonly value: unknown, start: number) {
    super(start);
  }
  toJSON(): unknown {
    return this.value;
  }
}

class FastPair {
  constructor(readonly key: FastScalar, readonly value: FastNode) {}
}

class FastMap extends FastNode {
  readonly items: FastPair[] = [];
  /** The keys, once the map is large enough for a set to beat a scan. */
  keys: Set<unknown> | undefined;
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const { key, value } of this.items) {
      // As the package does: "__proto__" (a key `in` every object) becomes an own property.
      const name = key.value as string;
      if (name in out) Object.defineProperty(out, name, { value: value.toJSON(), writable: true, enumerable: true, configurable: true });
      else out[name] = value.toJSON();
    }
    return out;
  }
}

class FastSeq extends FastNode {
  readonly items: FastNode[] = [];
  toJSON(): unknown[] {
    return this.items.map((item) => item.toJSON());
  }
}

for (const [cls, type] of [[FastScalar, "scalar"], [FastPair, "pair"], [FastMap, "map"], [FastSeq, "seq"]] as const) {
  Object.defineProperty(cls.prototype, NODE_TYPE, { value: Symbol.for(`yaml.${type}`) });
}

const SPACE = 0x20, LF = 0x0a, HASH = 0x23, COLON = 0x3a, DASH = 0x2d, COMMA = 0x2c;
const LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, SQUOTE = 0x27, DQUOTE = 0x22;

/** Characters that cannot start a plain scalar here (anchors, tags, block scalars, reserved, …). */
const UNSUPPORTED_START = new Set(["&", "*", "!", "|", ">", "%", "@", "`", "?"]);

class FastReader {
  private pos = 0;
  /** The indentation of the block collection around the flow collection being read (-1: none). */
  private flowParentIndent = -1;
  readonly lineStarts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.lineStarts.push(i + 1);
    // Tabs, CR and byte order marks (anywhere): leave them to the package.
    if (text.includes("\t") || text.includes("\r") || text.includes("\uFEFF")) outside();
  }

  document(): FastYaml {
    this.skipBlankLines();
    if (this.text.startsWith("---", this.pos) || this.text.startsWith("%", this.pos)) outside();
    if (this.pos >= this.text.length) return { root: null, lineStarts: this.lineStarts };
    const indent = this.pos - this.lineStart(this.pos);
    if (indent !== 0) outside();
    let root: FastNode;
    if (this.code() === LBRACE || this.code() === LBRACKET) {
      root = this.flowCollection(); // a JSON document
      this.endOfLine();
    } else root = this.blockNode(0);
    this.skipBlankLines();
    if (this.pos < this.text.length) outside();
    return { root: root as unknown as Node, lineStarts: this.lineStarts };
  }

  private code(at = this.pos): number {
    return this.text.charCodeAt(at);
  }

  private lineStart(offset: number): number {
    return this.text.lastIndexOf("\n", offset - 1) + 1;
  }

  /** Moves past empty and comment-only lines to the first content character of the next line. */
  private skipBlankLines(): void {
    const t = this.text;
    for (;;) {
      let i = this.pos;
      while (this.code(i) === SPACE) i++;
      if (i >= t.length) {
        this.pos = t.length;
        return;
      }
      const c = this.code(i);
      if (c === LF) {
        this.pos = i + 1;
        continue;
      }
      if (c === HASH) {
        const nl = t.indexOf("\n", i);
        this.pos = nl < 0 ? t.length : nl + 1;
        continue;
      }
      this.pos = i;
      return;
    }
  }

  /** After a value on a line: spaces, an optional comment, then the end of the line. */
  private endOfLine(): void {
    const t = this.text;
    const start = this.pos;
    while (this.code() === SPACE) this.pos++;
    if (this.pos >= t.length) return;
    const c = this.code();
    if (c === HASH && this.pos > start) {
      const nl = t.indexOf("\n", this.pos);
      this.pos = nl < 0 ? t.length : nl + 1;
      return;
    }
    if (c === LF) {
      this.pos++;
      return;
    }
    outside();
  }

  /** A block collection starting at the cursor (the first content of its first line), at `indent`. */
  private blockNode(indent: number): FastNode {
    if (this.isSeqIndicator(this.pos)) return this.blockSeq(indent);
    return this.blockMap(indent);
  }

  private isSeqIndicator(at: number): boolean {
    if (this.code(at) !== DASH) return false;
    const next = this.code(at + 1);
    return next === SPACE || next === LF || Number.isNaN(next);
  }

  /** The indentation of the next content line, leaving the cursor at its first character. */
  private nextIndent(): number {
    this.skipBlankLines();
    return this.pos >= this.text.length ? -1 : this.pos - this.lineStart(this.pos);
  }

  private blockSeq(indent: number): FastNode {
    const seq = new FastSeq(this.pos);
    for (;;) {
      // The cursor is on "-" at `indent`.
      this.pos++;
      while (this.code() === SPACE) this.pos++;
      const c = this.code();
      if (c === LF || c === HASH || this.pos >= this.text.length) outside(); // an empty item, or its node on the next lines
      const column = this.pos - this.lineStart(this.pos);
      if (this.isSeqIndicator(this.pos)) outside(); // "- - x"
      seq.items.push(this.inlineOrCompactMap(column, indent));
      const next = this.nextIndent();
      if (next < indent) break;
      if (next > indent || !this.isSeqIndicator(this.pos)) {
        if (next === indent) break; // the parent mapping's next key
        outside();
      }
    }
        return seq;
  }

  /** After "- ": either a mapping whose first key is here (at `column`), or a one-line value. */
  private inlineOrCompactMap(column: number, seqIndent: number): FastNode {
    if (this.keyAhead()) return this.blockMap(column);
    this.flowParentIndent = seqIndent;
    const value = this.inlineValue();
    this.endOfLine();
    return value;
  }

  /** Whether the current line, from the cursor, is `key: …`. */
  private keyAhead(): boolean {
    const c = this.code();
    if (c === LBRACE || c === LBRACKET) return false;
    if (c === DQUOTE || c === SQUOTE) {
      const end = this.quotedEnd(this.pos);
      return this.code(end) === COLON;
    }
    const t = this.text;
    for (let i = this.pos; i < t.length; i++) {
      const ch = this.code(i);
      if (ch === LF) return false;
      if (ch === HASH && this.code(i - 1) === SPACE) return false;
      if (ch === COLON) {
        const after = this.code(i + 1);
        if (after === SPACE || after === LF || Number.isNaN(after)) return true;
      }
    }
    return false;
  }

  private blockMap(indent: number): FastNode {
    const map = new FastMap(this.pos);
    for (;;) {
      // The cursor is on a key at `indent`.
      const key = this.key();
      checkKey(map, key, this.pos);
      this.pos++; // ":"
      // After a quoted key, "a":b is a flow-only form; a block value indicator needs a space.
      if (this.code() !== SPACE && this.code() !== LF && this.pos < this.text.length) outside();
      while (this.code() === SPACE) this.pos++;
      let value: FastNode;
      const c = this.code();
      if (c === LF || c === HASH || this.pos >= this.text.length) {
        if (c === HASH && this.code(this.pos - 1) !== SPACE) outside();
        this.endOfLine();
        const next = this.nextIndent();
        if (next > indent) value = this.blockNode(next);
        else if (next === indent && this.isSeqIndicator(this.pos)) value = this.blockSeq(indent);
        else value = outside(); // an empty value
      } else {
        this.flowParentIndent = indent;
        value = this.inlineValue();
        this.endOfLine();
      }
      map.items.push(new FastPair(key, value));
      const next = this.nextIndent();
      if (next < indent) break;
      if (next > indent) outside(); // a continuation line of a multi-line scalar, or bad indentation
      if (this.isSeqIndicator(this.pos)) break; // the parent sequence's next item
      if (!this.keyAhead()) outside();
    }
        return map;
  }

  /** A mapping key (plain or quoted), leaving the cursor on its ":". */
  private key(): FastScalar {
    const c = this.code();
    if (c === DQUOTE || c === SQUOTE) {
      const s = this.quoted();
      if (this.code() !== COLON) outside();
      return s;
    }
    if (c === LBRACE || c === LBRACKET) outside();
    this.checkPlainStart(false);
    const start = this.pos;
    const t = this.text;
    let i = start;
    for (;; i++) {
      const ch = this.code(i);
      if (ch === COLON) {
        const after = this.code(i + 1);
        if (after === SPACE || after === LF || Number.isNaN(after)) break;
      }
      if (ch === LF || i >= t.length) outside();
      if (ch === HASH && this.code(i - 1) === SPACE) outside(); // "a #b: c" is "a" and a comment
    }
    let end = i;
    while (end > start && this.code(end - 1) === SPACE) end--;
    this.pos = i;
    return this.plainScalar(start, end);
  }

  /** A value on the current line (or, in a flow collection, the next one): a flow collection, a quoted scalar or a plain scalar. */
  private inlineValue(flow = false): FastNode {
    const c = this.code();
    if (c === LBRACE || c === LBRACKET) return this.flowCollection();
    if (c === DQUOTE || c === SQUOTE) return this.quoted();
    return flow ? this.flowPlain() : this.blockPlain();
  }

  /** A plain scalar in block context: up to " #" or the end of the line. */
  private blockPlain(): FastScalar {
    const start = this.pos;
    const t = this.text;
    this.checkPlainStart(false);
    let i = start;
    for (; i < t.length; i++) {
      const ch = this.code(i);
      if (ch === LF) break;
      if (ch === HASH && this.code(i - 1) === SPACE) break;
      if (ch === COLON) {
        const after = this.code(i + 1);
        if (after === SPACE || after === LF || Number.isNaN(after)) outside(); // "a: b: c"
      }
    }
    let end = i;
    while (end > start && this.code(end - 1) === SPACE) end--;
    this.pos = end;
    return this.plainScalar(start, end);
  }

  private checkPlainStart(flow: boolean): void {
    const ch = this.text[this.pos] ?? "";
    if (UNSUPPORTED_START.has(ch)) outside();
    const next = this.text[this.pos + 1] ?? "";
    if (ch === "-" && (next === " " || next === "\n" || next === "" || (flow && ",[]{}".includes(next)))) outside(); // a sequence entry
    if (ch === ":" && (next === " " || (flow && ",[]{}".includes(next)))) outside();
    if (ch === "#" || ch === "," || ch === "]" || ch === "}" || ch === "\n" || ch === "") outside();
  }

  private plainScalar(start: number, end: number): FastScalar {
    const source = this.text.slice(start, end);
    return new FastScalar(resolvePlain(source), start);
  }

  /** Where the quoted scalar starting at `start` ends (after its closing quote), or outside. */
  private quotedEnd(start: number): number {
    const t = this.text;
    const q = this.code(start);
    for (let i = start + 1; i < t.length; i++) {
      const ch = this.code(i);
      if (ch === LF) outside();
      if (q === DQUOTE && ch === 0x5c) {
        i++;
        continue;
      }
      if (ch === q) {
        if (q === SQUOTE && this.code(i + 1) === SQUOTE) {
          i++;
          continue;
        }
        return i + 1;
      }
    }
    return outside();
  }

  private quoted(): FastScalar {
    const start = this.pos;
    const end = this.quotedEnd(start);
    const body = this.text.slice(start + 1, end - 1);
    const value = this.code(start) === SQUOTE ? body.replaceAll("''", "'") : unescapeDouble(body);
    this.pos = end;
    return new FastScalar(value, start);
  }

  /** `{…}` or `[…]`, which may span lines. */
  private flowCollection(): FastNode {
    const start = this.pos;
    const isMap = this.code() === LBRACE;
    const close = isMap ? RBRACE : RBRACKET;
    const node = isMap ? new FastMap(start) : new FastSeq(start);
    this.pos++;
    for (;;) {
      this.flowSpace();
      if (this.code() === close) break;
      if (isMap) {
        const key = this.code() === DQUOTE || this.code() === SQUOTE ? this.quoted() : this.flowPlain();
        this.flowSpace();
        if (this.code() !== COLON) outside(); // "{a}": a key without a value
        checkKey(node as FastMap, key, this.pos);
        this.pos++;
        this.flowSpace();
        if (this.code() === COMMA || this.code() === close) outside(); // an empty value
        (node as FastMap).items.push(new FastPair(key, this.inlineValue(true)));
      } else {
        const item = this.inlineValue(true);
        this.flowSpace();
        if (this.code() === COLON) outside(); // "[a: b]", a single-pair mapping
        (node as FastSeq).items.push(item);
      }
      this.flowSpace();
      if (this.code() === COMMA) {
        this.pos++;
        continue;
      }
      if (this.code() === close) break;
      outside();
    }
    this.pos++;
    return node;
  }

  /** Spaces, newlines and comments inside a flow collection. */
  private flowSpace(): void {
    const t = this.text;
    for (;;) {
      const c = this.code();
      if (c === SPACE) {
        this.pos++;
        continue;
      }
      if (c === LF) {
        this.pos++;
        this.flowLineStart();
        continue;
      }
      if (c === HASH && (this.code(this.pos - 1) === SPACE || this.code(this.pos - 1) === LF)) {
        const nl = t.indexOf("\n", this.pos);
        if (nl < 0) outside();
        this.pos = nl + 1;
        this.flowLineStart();
        continue;
      }
      if (this.pos >= t.length) outside();
      return;
    }
  }

  /**
   * At the start of a line inside a flow collection: the package wants its content indented more
   * than the block collection around it (the closing bracket may stand at that indentation), and
   * "---" or "..." there may be a document marker. Stricter than the package, never looser.
   */
  private flowLineStart(): void {
    const t = this.text;
    if (t.startsWith("---", this.pos) || t.startsWith("...", this.pos)) outside();
    let i = this.pos;
    while (this.code(i) === SPACE) i++;
    const c = this.code(i);
    if (c === LF || c === HASH || i >= t.length) return; // a blank or comment-only line
    const column = i - this.pos;
    if (column > this.flowParentIndent) return;
    if (column === this.flowParentIndent && (c === RBRACKET || c === RBRACE)) return;
    outside();
  }

  /** A plain scalar in flow context: up to `,`, `]`, `}`, ": " or the end of the line. */
  private flowPlain(): FastScalar {
    const start = this.pos;
    this.checkPlainStart(true);
    const t = this.text;
    let i = start;
    for (; i < t.length; i++) {
      const ch = this.code(i);
      if (ch === COMMA || ch === RBRACKET || ch === RBRACE || ch === LBRACE || ch === LBRACKET) break;
      if (ch === LF) outside(); // a plain scalar continued on the next line
      if (ch === HASH && this.code(i - 1) === SPACE) outside();
      if (ch === COLON) {
        const after = this.code(i + 1);
        if (after === SPACE || after === LF || after === COMMA || after === RBRACKET || after === RBRACE) break;
      }
    }
    if (i >= t.length) outside();
    const ch = this.code(i);
    if (ch === LBRACE || ch === LBRACKET) outside();
    let end = i;
    while (end > start && this.code(end - 1) === SPACE) end--;
    this.pos = end;
    return this.plainScalar(start, end);
  }
}

/** Refuses what the reader leaves to the package: keys that are not strings (`~`, `1`, `true`: a bootstrap's field names are strings, and the package turns them into JSON keys its own way), merge keys, duplicates, and keys too long to be implicit. */
function checkKey(map: FastMap, key: FastScalar, colonAt: number): void {
  if (typeof key.value !== "string" || key.value === "<<" || colonAt - key.start > 1000 || hasKey(map, key.value)) outside();
}

/** Whether `map` has `key` already (maps in a bootstrap are small: a scan beats a Set per map). */
function hasKey(map: FastMap, key: unknown): boolean {
  if (map.items.length < 16) return map.items.some((pair) => Object.is(pair.key.value, key));
  map.keys ??= new Set(map.items.map((pair) => pair.key.value));
  if (map.keys.has(key)) return true;
  map.keys.add(key);
  return false;
}

/** YAML 1.2 core schema, as the `yaml` package resolves plain scalars. */
function resolvePlain(s: string): unknown {
  switch (s) {
    case "":
    case "~":
    case "null":
    case "Null":
    case "NULL":
      return null;
    case "true":
    case "True":
    case "TRUE":
      return true;
    case "false":
    case "False":
    case "FALSE":
      return false;
  }
  const c = s.charCodeAt(0);
  // Only something starting like a number can be one.
  if (!(c >= 0x30 && c <= 0x39) && c !== 0x2b && c !== DASH && c !== 0x2e) return s;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  e: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
};

function unescapeDouble(body: string): string {
  if (!body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const e = body[++i] ?? "";
    const simple = ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const digits = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    const hex = body.slice(i + 1, i + 1 + digits);
    if (digits === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) outside();
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) outside();
    out += String.fromCodePoint(cp);
    i += digits;
  }
  return out;
}
