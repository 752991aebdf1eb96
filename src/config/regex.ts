/**
 * Checks that an Envoy `safe_regex` (RE2 syntax) means the same thing as a JavaScript RegExp, so
 * the router can run it with `new RegExp(source)` unchanged.
 *
 * Rejected, with a reason: what RE2 itself rejects (backreferences, lookahead and lookbehind), and
 * RE2 syntax that JavaScript reads differently or not at all (`(?P<name>…)`, inline flags such as
 * `(?i)`, `\A`, `\z`, `\Q…\E`, `\C`, `\pL`, POSIX classes such as `[[:alpha:]]`).
 *
 * @module
 */

/**
 * Returns why `source` cannot be used as a weft regex, or null when it can. The message is a
 * predicate for the regex field ("must …" / "uses …").
 *
 * @example Accept RE2 that JavaScript runs the same way, reject the rest
 * ```ts
 * import { checkRegex } from "./regex.ts";
 *
 * checkRegex("/api/v[0-9]+/.*"); // null
 * checkRegex("(a)\\1"); // "uses a backreference (\\1), which RE2 does not support"
 * ```
 */
export function checkRegex(source: string): string | null {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    const next = source[i + 1] ?? "";
    if (c === "\\") {
      if (/[1-9]/.test(next) && !inClass) return `uses a backreference (\\${next}), which RE2 does not support`;
      if (next === "k" && !inClass) return "uses a backreference (\\k<name>), which RE2 does not support";
      if ("AzZQECpP".includes(next) && next !== "") {
        return `uses \\${next}, which weft cannot run yet (JavaScript regexes read it differently)`;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === "[" && next === ":") return "uses a POSIX class such as [[:alpha:]], which weft cannot run yet";
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (source[i + 1] === "^") i++;
      if (source[i + 1] === "]") i++; // a leading ] is a literal
      continue;
    }
    if (c === "(" && next === "?") {
      const rest = source.slice(i + 2);
      if (/^(=|!|<=|<!)/.test(rest)) return "uses a lookaround assertion such as (?=…), which RE2 does not support";
      if (rest.startsWith("P<")) return "uses (?P<name>…), which weft cannot run yet; write (?<name>…) instead";
      if (rest.startsWith(":") || rest.startsWith("<")) continue;
      return "uses inline flags such as (?i), which weft cannot run yet";
    }
  }
  try {
    new RegExp(source);
  } catch {
    return `must be a valid regular expression, got ${JSON.stringify(source)}`;
  }
  return null;
}
