/**
 * Re-render a results file from its JSON (after a change to report.ts):
 *
 *   deno run -A bench/render.ts bench/results/2026-11-22-all.json   # writes the .md next to it
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { renderReport } from "./report.ts";
import type { Session } from "./session.ts";

const [json, out] = process.argv.slice(2);
if (!json) {
  console.error("usage: bench/render.ts <results.json> [out.md]");
  process.exit(2);
}
const session = JSON.parse(readFileSync(json, "utf8")) as Session;
const target = out ?? json.replace(/\.json$/, ".md");
writeFileSync(target, renderReport(session));
console.error(`wrote ${target}`);
