import { test } from "node:test";
import assert from "node:assert/strict";
import { type Node, parseDocument } from "yaml";
import { assertSameTree } from "./_test_helpers.ts";
import { parseFastYaml } from "./yaml_fast.ts";
import { DEFAULT_BOOTSTRAP_YAML } from "./default_bootstrap.ts";
import { bigBootstrapYaml } from "../../test/helpers/big_bootstrap.ts";

function same(text: string): void {
  const fast = parseFastYaml(text);
  assert.ok(fast !== null, `read by the fast path:\n${text}`);
  const doc = parseDocument(text, { merge: true, uniqueKeys: true });
  assert.deepEqual(doc.errors, []);
  assertSameTree(fast.root, doc.contents as Node | null);
  assert.deepEqual((fast.root as { toJSON(): unknown } | null)?.toJSON() ?? null, doc.toJS());
}

test("yaml_fast: reads what bootstraps are made of exactly as the yaml package does (values, keys, offsets)", () => {
  same(DEFAULT_BOOTSTRAP_YAML);
  same(bigBootstrapYaml(50));
  same(`# comment
admin:
  address: {socket_address: {address: "::1", port_value: 0x1F90}}   # trailing
stats_flush_interval: 2.5s
static_resources:
  clusters:
  - name: 'it''s'
    connect_timeout: {seconds: 1, nanos: 5e8}
    lb_policy: ROUND_ROBIN
    list: [a, "b c", 'd', -1, +2, .5, 1., 0o17, .inf, -.Inf, ~, null, True, FALSE, 08, 1_000, a:b, "x:y"]
    empty: {}
    none: []
    key with spaces: value with:colon-less # comment: a#b
    "quoted key": "tab\\tnewline\\nunicode\\u00e9 \\x41 \\U0001F600 \\"q\\" \\\\"
    url: http://example.com:8080/a?b=c#frag
    nested:
      - - inner
      - {a: [1, {b: 2}], c: d}
    multi: {
      a: 1,
      b: [x,
          y],   # comment in flow
    }
  listeners:
  - name: same-indent sequence
    port: 1
top:
- a
- b: 1
  c: 2
`.replace("      - - inner\n", "      - inner\n"));
  same('{"json": true, "list": [1, 2.5, "s", null, false], "nested": {"a": {"b": []}}}\n');
  same("");
  same("# only a comment\n");
});

test("yaml_fast: a __proto__ key becomes an own property in toJSON, as the package makes it", () => {
  const fast = parseFastYaml("__proto__: {polluted: 1}\n");
  assert.ok(fast !== null);
  const json = (fast.root as unknown as { toJSON(): Record<string, unknown> }).toJSON();
  assert.deepEqual(json, parseDocument("__proto__: {polluted: 1}\n").toJS());
  assert.ok(Object.hasOwn(json, "__proto__"));
  assert.equal((json as { polluted?: unknown }).polluted, undefined);
});

test("yaml_fast: anything outside the subset is left to the yaml package (null), never read differently", () => {
  for (const text of [
    "a: &x 1\nb: *x\n", // anchors, aliases
    "base: &b {x: 1}\nc:\n  <<: *b\n", // merge keys
    "a: !!str 1\n", // tags
    "a: |\n  block\n", // block scalars
    "a: >\n  folded\n",
    "a: plain\n  continued\n", // multi-line plain scalar
    'a: "two\n  lines"\n',
    "a: 1\na: 2\n", // duplicate keys
    "{a: 1, a: 2}\n",
    "a:\nb: 1\n", // empty value
    "- \n- a\n",
    "a:\tb\n", // tabs
    "a: 1\r\n", // CR
    "\uFEFFa: 1\n", // a byte order mark
    "---\na: 1\n", // document markers
    "a: 1\n---\nb: 2\n",
    "%YAML 1.2\n---\na: 1\n",
    "? complex\n: key\n",
    "a: b: c\n",
    "a: [1, 2\n", // unterminated
    "a: {b}\n",
    "a: [b: c]\n",
    "a: @x\n",
    "a: 1\n  b: 2\n", // bad indentation
    "plain scalar document\n",
    "a: 'x'y\n",
    'a: "\\q"\n',
    // Found by yaml_fast_fuzz_test.ts, each read differently (or without the package's error) before:
    "a #b: c\n", // "a" and a comment, then an error
    "~: x\n", // a null key: the package's JSON key is "", not "null"
    "null: x\n",
    "1: x\n", // keys that are not strings
    '"a":b\n', // a flow-only form in a block mapping
    `${"k".repeat(1025)}: x\n`, // an implicit key longer than 1024 characters
    "a: [-, x]\n", // "-" before a flow indicator
    "a: [1,\n2]\n", // flow content not indented more than its block mapping
    "a: [1, # c\n2]\n",
    "- a: [1,\n  2]\n",
    "k:\n  a: [1,\n   2\n ]\n",
    "a: 1\n\uFEFFb: 2\n", // a byte order mark inside the text
    "[1,\n--- ]\n", // a document marker inside a flow collection
  ]) {
    assert.equal(parseFastYaml(text), null, JSON.stringify(text));
  }
});
