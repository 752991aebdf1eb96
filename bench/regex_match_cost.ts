/**
 * What a `safe_regex` route costs per match on RE2 (re2js, what weft runs since issue 17) against
 * the backtracking JavaScript RegExp it replaced (not a test): the benchmark bootstrap's pattern
 * (`peers/weft.yaml`) full-matched against the paths a route table sees, in one process, rounds
 * alternating.
 *
 *   bun bench/regex_match_cost.ts [--rounds 9]
 *   deno run -A bench/regex_match_cost.ts
 *
 * @module
 */
import { option } from "./argv.ts";
import { spread } from "./stats.ts";
import { compileRegex, type Re2Regex } from "../src/config/regex.ts";

const ROUNDS = Number(option("rounds", "9"));
const MATCHES = 200_000;
const PATTERN = "/users/[0-9]+/profile";
const PATHS: Record<string, string> = {
  "miss at the first byte (/)": "/",
  "match (/users/42/profile)": "/users/42/profile",
  "late miss (/users/42/profilex)": "/users/42/profilex",
  "200-byte miss": `/users/${"1".repeat(190)}/x`,
};

const re2 = compileRegex(PATTERN) as Re2Regex;
const js = new RegExp(`^(?:${PATTERN})$`);
const engines: Record<string, (path: string) => boolean> = {
  re2: (p) => re2.fullMatch(p),
  "js RegExp": (p) => js.test(p),
};

let sink = 0;
function nsPerMatch(match: (path: string) => boolean, path: string): number {
  const start = performance.now();
  for (let i = 0; i < MATCHES; i++) if (match(path)) sink++;
  return ((performance.now() - start) * 1e6) / MATCHES;
}

const runtime = "Bun" in globalThis ? `bun ${(globalThis as { Bun?: { version: string } }).Bun!.version}` : `deno ${Deno.version.deno}`;
console.log(`${runtime}: ns per full match of ${JSON.stringify(PATTERN)}, median of ${ROUNDS} rounds × ${MATCHES}`);
for (const [label, path] of Object.entries(PATHS)) {
  const samples: Record<string, number[]> = { re2: [], "js RegExp": [] };
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const [name, match] of Object.entries(engines)) {
      const ns = nsPerMatch(match, path);
      if (r > 0) samples[name]!.push(ns); // the first round warms up
    }
  }
  const cells = Object.entries(samples).map(([name, v]) => `${name} ${spread(v).median.toFixed(0)}`);
  console.log(`  ${label.padEnd(32)} ${cells.join("   ")}`);
}
if (sink < 0) console.log(sink);
