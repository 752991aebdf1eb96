/**
 * Differential fuzzing of `yaml_fast.ts` against the `yaml` package: seeded, bounded and
 * deterministic. Each generated document is bootstrap-shaped YAML built from the tricky parts of
 * the language (quoting and escapes, plain scalars that look like numbers, booleans or null, `:` and
 * `#` inside scalars, comments everywhere, flow collections over several lines, sequences at their
 * key's indentation, empty values, duplicate keys, long keys, document markers, tabs, CR, a byte
 * order mark, control characters), half of them then mutated byte by byte. For every one, the fast
 * reader must either decline (null: the package reads it, and reports its errors) or produce exactly
 * the package's tree: same kinds, values, keys, order and start offsets, and an error-free parse.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Node, parseDocument } from "yaml";
import { parseFastYaml } from "./yaml_fast.ts";
import { assertSameTree } from "./_test_helpers.ts";
import { prng } from "../../test/helpers/prng.ts";

/** What bootstraps mostly hold, so that many documents stay inside the fast reader's subset. */
const ORDINARY = ["cluster_1", "10.0.0.1", "1s", "0.25s", "ROUND_ROBIN", "8080", "true", "/api/v1", "a b", "x.y.z", '"quoted"', "'single'"];
const PLAIN = [
  "yes", "no", "on", "off", "y", "n", "0x1F", "0x", "0xg", "1e3", "1E3", "1e+3", "-1e-3", ".inf", "-.Inf", "+.INF", ".nan", ".NaN",
  ".NAN", "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "FALSE", "0o17", "0o8", "0O17", "012",
  "08", "+1", "-1", "+0", "-0", "0", "00", "1_000", "1.", ".5", "-.5", "+.5", "1.5e", "1.0", "-0.0", "12345678901234567890123",
  "1e400", "-1e400", "0x7FFFFFFFFFFFFFFFF", "a:b", "a#b", "http://x.y:8080/a?b=c#frag", "-x", "-", "--", ":x", ":", "a :b",
  "...", "---", "....", "a b", "cluster_1", "10.0.0.1", "::1", "1s", "0.25s", "ROUND_ROBIN", "é", "日本", "a,b",
  "a[b]", "a{b}", "a]", "a}", "<<", "=", "a'b", 'a"b', "a\\b", "x  y", "@x", "`x", "%x", "!x", "&x", "*x", "|", ">", "?x", "? x",
  "a\u0085b", "a\u2028b", "a\x01b", "a\uFFFEb", "a\u00a0b",
];
const DOUBLE = [
  '"\\x41"', '"\\u00e9"', '"\\U0001F600"', '"\\/"', '"\\ud800"', '"\\q"', '"a\\"b"', '"a # b"', '"a: b"', '""', '"\\0\\a\\b\\e"',
  '"\\N\\_\\L\\P"', '"\\ "', '"\\x4"', '"\\u00"', '"\\U00110000"', '"tab\\there"', '"a\\\\"', '"1"', '"true"', '"~"', '"\\\'"',
  '"\\"', '"a',
];
const SINGLE = ["'it''s'", "'a: b'", "''", "'a # b'", "'\\x41'", "''''", "'a''", "'1'", "'null'", "'"];
const KEYS = [
  "name", "address", "port_value", "a", "b", "key with spaces", "0", "-0", "1", "1.0", "+1", "~", "null", "true", "<<", "'<<'",
  '"a"', "'a'", '"a b"', "''", '"\\x61"', "a#b", "a #b", "a:b", "-a", ".inf", ".nan", "__proto__", "constructor", "x".repeat(1025),
  "y".repeat(1024), "é",
];

/** How often a document picks a tricky part over an ordinary one (set per document, 0–0.5, mostly low). */
let trickiness = 0.3;

/** One of `usual` (the first is the plain form), or, as often as the document is tricky, any of `others`. */
function choose<T>(rand: () => number, usual: T, others: readonly T[]): T {
  return rand() < trickiness ? pick(rand, others) : usual;
}

function key(rand: () => number): string {
  return rand() >= trickiness ? pick(rand, ["name", "address", "port_value", "cluster", "match", "route", "prefix", "a", "b"]) : pick(rand, KEYS);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function scalar(rand: () => number): string {
  if (rand() >= trickiness) return pick(rand, ORDINARY);
  const r = rand();
  if (r < 0.5) return pick(rand, PLAIN);
  if (r < 0.8) return pick(rand, DOUBLE);
  return pick(rand, SINGLE);
}

/** A comment, spaces or nothing after a value. */
function lineEnd(rand: () => number): string {
  if (rand() >= trickiness) return rand() < 0.8 ? "" : " # comment: a#b";
  const r = rand();
  if (r < 0.3) return "  ";
  if (r < 0.6) return " # comment: a#b";
  if (r < 0.8) return "#glued";
  return pick(rand, ["\t", " \t# tab", "\r", " ---"]);
}

/** A flow collection, over one line or several (continuation lines at `indent` plus a random shift). */
function flow(rand: () => number, depth: number, indent: number): string {
  const isMap = rand() < 0.5;
  const n = Math.floor(rand() * 4);
  const multiline = rand() < 0.3 * (1 + trickiness);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const value = depth < 2 && rand() < 0.3 ? flow(rand, depth + 1, indent + 2) : rand() < 0.1 * trickiness ? "" : scalar(rand);
    const sep = choose(rand, ": ", [":", " : ", ":  "]);
    parts.push(isMap ? `${key(rand)}${sep}${value}` : value);
  }
  if (rand() < 0.1) parts.push(""); // a trailing comma
  const shift = Math.floor(rand() * 5) - 2;
  const join = multiline ? `,${rand() < 0.2 ? " # after a comma" : ""}\n${" ".repeat(Math.max(0, indent + shift))}` : choose(rand, ", ", [",", " , "]);
  const closeOnItsLine = multiline && rand() < 0.5;
  const comment = closeOnItsLine && rand() < 0.3 ? " # in flow" : "";
  const body = parts.join(join) + (closeOnItsLine ? `${comment}\n${" ".repeat(Math.max(0, indent + shift))}` : "");
  return isMap ? `{${body}}` : `[${body}]`;
}

/** The lines of a block mapping at `indent`. */
function blockMap(rand: () => number, depth: number, indent: number, firstPrefix?: string): string[] {
  const lines: string[] = [];
  const n = 1 + Math.floor(rand() * 4);
  const keys = new Set<string>();
  for (let i = 0; i < n; i++) {
    let name = key(rand);
    if (keys.has(name) && rand() < 0.8) name = `k${i}`; // duplicates now and then
    keys.add(name);
    const pad = i === 0 && firstPrefix !== undefined ? firstPrefix : " ".repeat(indent);
    const sep = choose(rand, ":", [" :", "  :"]);
    const r = rand();
    if (depth < 4 && r < 0.3) {
      lines.push(`${pad}${name}${sep}${lineEnd(rand)}`);
      if (rand() < 0.2) lines.push(pick(rand, ["", "# between", "   # indented comment", "  "]));
      lines.push(...blockMap(rand, depth + 1, indent + choose(rand, 2, [4, 1, 3])));
    } else if (depth < 4 && r < 0.5) {
      lines.push(`${pad}${name}${sep}${lineEnd(rand)}`);
      lines.push(...blockSeq(rand, depth + 1, indent + choose(rand, 2, [0, 4, 1])));
    } else if (r < 0.6) {
      lines.push(`${pad}${name}${sep} ${flow(rand, 0, indent + 2)}${lineEnd(rand)}`);
    } else if (r < 0.6 + 0.1 * trickiness) {
      lines.push(`${pad}${name}${sep}${lineEnd(rand)}`); // an empty value
    } else {
      lines.push(`${pad}${name}${sep}${choose(rand, " ", ["  ", ""])}${scalar(rand)}${lineEnd(rand)}`);
    }
    if (rand() < 0.1) lines.push(pick(rand, ["", "# comment", " ".repeat(indent) + "# comment", "   "]));
  }
  return lines;
}

/** The lines of a block sequence whose dashes stand at `indent`. */
function blockSeq(rand: () => number, depth: number, indent: number): string[] {
  const lines: string[] = [];
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const dash = " ".repeat(indent) + choose(rand, "- ", ["-   ", "-", "-  "]);
    const r = rand();
    if (depth < 4 && r < 0.45) lines.push(...blockMap(rand, depth + 1, dash.length, dash));
    else if (r < 0.6) lines.push(`${dash}${flow(rand, 0, indent + 2)}${lineEnd(rand)}`);
    else if (r < 0.6 + 0.1 * trickiness) lines.push(`${dash}- nested`);
    else lines.push(`${dash}${scalar(rand)}${lineEnd(rand)}`);
  }
  return lines;
}

function document(rand: () => number): string {
  trickiness = rand() ** 2 * 0.5;
  const r = rand();
  let body: string;
  if (r < 0.1) body = flow(rand, 0, 0);
  else if (r < 0.15) body = blockSeq(rand, 0, 0).join("\n");
  else if (r < 0.17) body = scalar(rand);
  else body = blockMap(rand, 0, 0).join("\n");
  if (rand() < 0.1) body = `# leading comment\n\n${body}`;
  const markers = (p: number) => rand() < p * trickiness;
  if (markers(0.2)) body = `---\n${body}`;
  if (markers(0.2)) body = `${body}\n...`;
  if (markers(0.1)) body = `${body}\n---\nb: 1`;
  if (markers(0.1)) body = `\uFEFF${body}`;
  if (markers(0.1)) body = body.replaceAll("\n", "\r\n");
  return rand() < 0.9 ? `${body}\n` : body;
}

const MUTATION_CHARS = [" ", "\t", "\r", "\n", "#", ":", "-", "'", '"', "{", "}", "[", "]", ",", "\\", "&", "*", "!", "|", ">", "?", "%", "@", "\u0085", "\u2028", "\x01", "\uFEFF", "\n  ", "\n---\n", "\n...\n"];

function mutate(rand: () => number, text: string): string {
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rand() * (text.length + 1));
    const r = rand();
    if (r < 0.6) text = text.slice(0, at) + pick(rand, MUTATION_CHARS) + text.slice(at);
    else if (r < 0.9) text = text.slice(0, at) + text.slice(at + 1);
    else {
      const nl = text.lastIndexOf("\n", at - 1) + 1;
      text = text.slice(0, nl) + " ".repeat(1 + Math.floor(rand() * 2)) + text.slice(nl);
    }
  }
  return text;
}

/** Checks one document; returns whether the fast reader read it. */
function checkAgainstPackage(text: string): boolean {
  const fast = parseFastYaml(text);
  if (fast === null) return false;
  const doc = parseDocument(text, { merge: true, uniqueKeys: true });
  const label = `read by the fast path but not the same for the yaml package:\n${JSON.stringify(text)}`;
  assert.deepEqual([...doc.errors, ...doc.warnings].map((e) => e.message), [], label);
  try {
    assertSameTree(fast.root, doc.contents as Node | null);
    const fastJson = (fast.root as { toJSON(): unknown } | null)?.toJSON() ?? null;
    assert.deepEqual(fastJson, doc.toJS() ?? null);
  } catch (e) {
    throw new assert.AssertionError({ message: `${label}\n${(e as Error).message}` });
  }
  return true;
}

test("yaml_fast fuzz: 20,000 generated bootstrap-shaped documents are read as the yaml package reads them, or declined", () => {
  const rand = prng(17);
  let read = 0, mutated = 0, readMutated = 0;
  for (let i = 0; i < 20000; i++) {
    let text = document(rand);
    const mutate_ = rand() < 0.5;
    if (mutate_) {
      text = mutate(rand, text);
      mutated++;
    }
    const ok = checkAgainstPackage(text);
    if (ok) read++;
    if (ok && mutate_) readMutated++;
  }
  // The generator must exercise the fast path, not only its refusals.
  assert.ok(read > 3000, `the fast reader read only ${read} of 20000 documents`);
  assert.ok(readMutated > 600, `the fast reader read only ${readMutated} of ${mutated} mutated documents`);
});
