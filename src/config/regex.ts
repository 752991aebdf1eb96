/**
 * Config regexes (`safe_regex`, `safe_regex_match`, `string_match.safe_regex`, admin's
 * `/stats?filter=`) run on RE2 semantics, as in Envoy: RE2 syntax, and matching in time linear in
 * the input whatever the pattern, so `(a+)+$` from an Envoy config cannot freeze a worker on a long
 * path. The engine is `re2js` (a pure-JavaScript port of Go's `regexp`, which implements RE2), so it
 * runs the same on Deno, Bun and in a compiled binary.
 *
 * What RE2 rejects is rejected here too (backreferences, lookahead and lookbehind, `\C`, repeat
 * counts over 1000), with a message naming the construct.
 *
 * @module
 */
import { RE2JS } from "re2js";

/** A compiled RE2 regex. */
export interface Re2Regex {
  /** Whether the whole of `input` matches (RE2's FullMatch: Envoy's route and header matching). */
  fullMatch(input: string): boolean;
  /** Whether some part of `input` matches (RE2's PartialMatch: admin's `/stats?filter=`). */
  partialMatch(input: string): boolean;
}

/** Options of {@linkcode compileRegex}. */
export interface RegexOptions {
  /** Match letters regardless of case (as if the pattern started with `(?i)`). */
  ignoreCase?: boolean;
}

/**
 * Compiles `source` with RE2 syntax, or returns why it cannot be used (a predicate for the regex
 * field: "must …" / "uses …").
 *
 * @example Full match, as a route does
 * ```ts
 * import { compileRegex } from "./regex.ts";
 *
 * const re = compileRegex("/api/v[0-9]+/.*");
 * if (typeof re !== "string") re.fullMatch("/api/v2/users"); // true
 * compileRegex("(a)\\1"); // "uses a backreference (\\1), which RE2 does not support"
 * ```
 */
export function compileRegex(source: string, options: RegexOptions = {}): Re2Regex | string {
  const unsupported = unsupportedConstruct(source);
  if (unsupported !== null) return unsupported;
  try {
    const re = RE2JS.compile(source, options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    // A route table mostly misses: a full match must start with the pattern's literal prefix, and
    // checking that first is ~10× cheaper than re2js's own early miss (see the README).
    const prefix = options.ignoreCase ? "" : literalPrefix(source);
    return {
      fullMatch: prefix === "" ? (input) => re.testExact(input) : (input) => input.startsWith(prefix) && re.testExact(input),
      partialMatch: (input) => re.test(input),
    };
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^error parsing regexp: /, "") : String(e);
    return `must be a valid RE2 regular expression (${reason}), got ${JSON.stringify(source)}`;
  }
}

/**
 * Returns why `source` cannot be used as a weft regex, or null when it can.
 *
 * @example
 * ```ts
 * import { checkRegex } from "./regex.ts";
 *
 * checkRegex("(?i)/api/(?P<v>v[0-9]+)/.*"); // null
 * checkRegex("/(?=a)"); // "uses a lookaround assertion such as (?=…), which RE2 does not support"
 * ```
 */
export function checkRegex(source: string): string | null {
  const compiled = compileRegex(source);
  return typeof compiled === "string" ? compiled : null;
}

/**
 * The ASCII literal every full match of `source` starts with ("" when unsure): the leading plain
 * characters, minus one that a quantifier follows; nothing when the pattern has an alternation
 * anywhere (conservative: `a|b` has no common prefix) or starts with a flag group or an anchor.
 */
export function literalPrefix(source: string): string {
  if (source.includes("|")) return "";
  let prefix = "";
  for (let i = 0; i < source.length; i++) {
    let c = source[i]!;
    let width = 1;
    if (c === "\\") {
      c = source[i + 1] ?? "";
      width = 2;
      if (!/^[!-\/:-@\[-`{-~]$/.test(c)) break; // \d, \pL, \A …: not a literal
    } else if (!/^[A-Za-z0-9\/_\-~%=&,;:@!'"<> #]$/.test(c)) break;
    const next = source[i + width] ?? "";
    if (next === "*" || next === "+" || next === "?" || next === "{") break;
    prefix += c;
    i += width - 1;
  }
  return prefix;
}

/** Backreferences and lookaround get a message naming them (re2js's own is "invalid escape"). */
function unsupportedConstruct(source: string): string | null {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    const next = source[i + 1] ?? "";
    if (c === "\\") {
      // \1 to \7 followed by an octal digit is RE2's octal character code (\101 is "A"); other
      // \1 to \9 are backreferences.
      const octal = next >= "1" && next <= "7" && (source[i + 2] ?? "") >= "0" && (source[i + 2] ?? "") <= "7";
      if (!inClass && next >= "1" && next <= "9" && !octal) return `uses a backreference (\\${next}), which RE2 does not support`;
      if (!inClass && next === "k") return "uses a backreference (\\k<name>), which RE2 does not support";
      if (next === "Q") {
        // \Q…\E quotes everything up to \E (or the end).
        const end = source.indexOf("\\E", i + 2);
        if (end < 0) return null;
        i = end + 1;
        continue;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === "[" && next === ":") {
        const end = source.indexOf(":]", i + 2);
        if (end > 0) i = end + 1; // a POSIX class such as [:alpha:]
      } else if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (source[i + 1] === "^") i++;
      if (source[i + 1] === "]") i++; // a leading ] is a literal
      continue;
    }
    if (c === "(" && next === "?" && /^(=|!|<=|<!)/.test(source.slice(i + 2, i + 4))) {
      return "uses a lookaround assertion such as (?=…), which RE2 does not support";
    }
  }
  return null;
}
