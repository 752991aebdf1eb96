import { test } from "node:test";
import assert from "node:assert/strict";
import { RE2JS } from "re2js";
import { checkRegex, compileRegex, literalPrefix, type Re2Regex } from "./regex.ts";

function compiled(source: string, ignoreCase = false): Re2Regex {
  const re = compileRegex(source, { ignoreCase });
  if (typeof re === "string") throw new Error(re);
  return re;
}

test("regex: RE2 syntax that JavaScript reads differently is accepted and means what RE2 says", () => {
  assert.equal(compiled("(?i)/API/[a-z]+").fullMatch("/api/Users"), true);
  assert.equal(compiled("/(?P<id>[0-9]+)").fullMatch("/42"), true);
  assert.equal(compiled("/[[:alpha:]]+").fullMatch("/abc"), true);
  assert.equal(compiled("/[[:alpha:]]+").fullMatch("/a1"), false);
  assert.equal(compiled("\\A/x\\z").fullMatch("/x"), true);
  assert.equal(compiled("/\\pL+").fullMatch("/é"), true);
  assert.equal(compiled("\\Q/a.b\\E").fullMatch("/a.b"), true);
  assert.equal(compiled("\\Q/a.b\\E").fullMatch("/axb"), false);
});

test("regex: full match for routes and headers, partial match for filters, ignoreCase", () => {
  const re = compiled("/items/[0-9]+");
  assert.equal(re.fullMatch("/items/12"), true);
  assert.equal(re.fullMatch("/items/12/x"), false);
  assert.equal(re.fullMatch("x/items/12"), false);
  assert.equal(re.partialMatch("x/items/12/y"), true);
  assert.equal(compiled("a|b").fullMatch("ab"), false, "alternation is grouped as a whole");
  assert.equal(compiled("/ITEMS", true).fullMatch("/items"), true);
  assert.equal(compiled("/ITEMS").fullMatch("/items"), false);
});

test("regex: what RE2 rejects is refused with the reason", () => {
  assert.equal(checkRegex("/(a)\\1"), "uses a backreference (\\1), which RE2 does not support");
  assert.equal(checkRegex("(?<n>a)\\k<n>"), "uses a backreference (\\k<name>), which RE2 does not support");
  for (const look of ["/(?=a)", "/(?!a)", "(?<=a)b", "(?<!a)b"]) {
    assert.equal(checkRegex(look), "uses a lookaround assertion such as (?=…), which RE2 does not support", look);
  }
  assert.equal(checkRegex("/(a"), 'must be a valid RE2 regular expression (missing closing ): `/(a`), got "/(a"');
  assert.equal(checkRegex("a{1001}"), 'must be a valid RE2 regular expression (invalid repeat count: `{1001}`), got "a{1001}"');
  assert.equal(checkRegex("[\\1]"), 'must be a valid RE2 regular expression (invalid escape sequence: `\\1`), got "[\\\\1]"');
  assert.equal(checkRegex("/api/v[0-9]+/.*"), null);
});

test("regex: a pattern that backtracks exponentially in JavaScript runs in linear time", () => {
  // With JavaScript's RegExp this does not finish in a lifetime (2^61440 paths); RE2 reads the
  // input once, in milliseconds.
  const re = compiled("/(a+)+$");
  const time = (n: number) => {
    const input = `/${"a".repeat(n)}!`;
    const start = performance.now();
    assert.equal(re.fullMatch(input), false);
    assert.equal(re.fullMatch(input.slice(0, -1)), true);
    return performance.now() - start;
  };
  time(1024); // warm up
  const large = time(60 * 1024);
  assert.ok(large < 1000, `60 KiB took ${large.toFixed(0)} ms`);
});

test("regex: the literal prefix a full match must start with, used to reject early, is never too long", () => {
  assert.equal(literalPrefix("/users/[0-9]+/profile"), "/users/");
  assert.equal(literalPrefix("/ab+c"), "/a");
  assert.equal(literalPrefix("/x{2}"), "/");
  assert.equal(literalPrefix("/a?"), "/");
  assert.equal(literalPrefix("\\./v1\\d"), "./v1");
  assert.equal(literalPrefix("/a|/b"), "");
  assert.equal(literalPrefix("(?i)/a"), "");
  assert.equal(literalPrefix("^/a"), "");
  assert.equal(literalPrefix("/é"), "/");
  for (const [pattern, input, expected] of [
    ["/ab+c", "/abbbc", true],
    ["/ab+c", "/ac", false],
    ["/x{2}", "/xx", true],
    ["/a?", "/", true],
    ["/users/[0-9]+/profile", "/users/7/profile", true],
    ["/users/[0-9]+/profile", "/Users/7/profile", false],
  ] as const) {
    assert.equal(compiled(pattern).fullMatch(input), expected, `${pattern} ${input}`);
  }
  assert.equal(compiled("/USERS", true).fullMatch("/users"), true, "no prefix check when case is ignored");
});

test("regex: an octal escape (\\101) is RE2's character code, not a backreference", () => {
  assert.equal(checkRegex("/\\101bc"), null);
  assert.equal(compiled("/\\101bc").fullMatch("/Abc"), true);
  assert.equal(compiled("/\\0").fullMatch("/\0"), true);
  assert.equal(compiled("/[\\101]").fullMatch("/A"), true);
  for (const backreference of ["(a)\\1", "(a)\\18", "(a)\\8", "(a)\\9x"]) {
    assert.match(checkRegex(backreference) ?? "", /^uses a backreference/, backreference);
  }
});

test("regex: the literal-prefix shortcut never changes a full match (patterns where a wrong one would)", () => {
  // Each pattern with inputs that match it and near misses; the shortcut must agree with re2js's
  // own full match on every one.
  const cases: Record<string, string[]> = {
    "(?i)abc": ["abc", "ABC", "aBc", "xabc"],
    "abc(?i)def": ["abcdef", "abcDEF", "ABCdef", "abc"],
    "a(?i:b)c": ["abc", "aBc", "Abc"],
    "a|b": ["a", "b", "ab", ""],
    "/x|/y/z": ["/x", "/y/z", "/y"],
    "^": ["", "a"],
    "^abc": ["abc", "xabc"],
    "abc$": ["abc", "abcx"],
    "\\Qa.b\\E": ["a.b", "axb"],
    "x\\Q*\\E": ["x*", "x", "xx"],
    "a\\*": ["a*", "a", "aa"],
    "[ab]c": ["ac", "bc", "cc"],
    "[|]x": ["|x", "x"],
    ".*abc": ["abc", "xxabc", "ab"],
    "ab*c": ["ac", "abbc", "bc"],
    "ab?c": ["ac", "abc"],
    "ab{0}c": ["ac", "abc"],
    "ab{0,}": ["a", "abbb"],
    "ab{,2}": ["ab{,2}", "ab", "abb"],
    "a\\-b": ["a-b", "ab"],
    "a\\.b": ["a.b", "axb"],
    "a b#c": ["a b#c", "a b"],
    "\\x41bc": ["Abc", "abc"],
    "\\101bc": ["Abc", "101bc"],
    "a\\bb": ["ab", "a b"],
    "(?U)ab+": ["abbb", "ab"],
    "(?s)a.b": ["a\nb", "ab"],
    "/é.*": ["/é", "/éx", "/e"],
    "(ab)+c": ["abc", "ababc", "c"],
    "a(b|c)d": ["abd", "acd", "ad"],
  };
  let compared = 0;
  for (const [pattern, inputs] of Object.entries(cases)) {
    const re = compiled(pattern);
    const reference = RE2JS.compile(pattern);
    for (const input of inputs) {
      assert.equal(re.fullMatch(input), reference.testExact(input), `${pattern} against ${JSON.stringify(input)}`);
      compared++;
    }
  }
  assert.equal(compared, 77);
  // Where a prefix is used, it is exactly the literal start, and none where there is no single one.
  assert.equal(literalPrefix("abc(?i)def"), "abc");
  assert.equal(literalPrefix("a\\*"), "a*");
  assert.equal(literalPrefix("ab*c"), "a");
  for (const none of ["(?i)abc", "a|b", "^abc", "\\Qa\\E", "[ab]c", ".*abc", "(ab)+c", "\\x41bc", "\\101bc"]) {
    assert.equal(literalPrefix(none), "", none);
  }
});
