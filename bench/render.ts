/**
 * Re-render a results file from its JSON (after a change to report.ts):
 *
 *   deno run -A bench/render.ts bench/results/2026-11-22-all.json   # writes the .md next to it
 *
 * --latest also copies it to latest.md. A hand-written `<results>.analysis.md` next to the JSON, if present, goes in as the Analysis section.
 *
 * @module
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { renderReport } from "./report.ts";
import type { Session } from "./session.ts";

const args = process.argv.slice(2);
const latest = args.includes("--latest");
const [json, out] = args.filter((a) => a !== "--latest");
if (!json) {
  console.error("usage: bench/render.ts [--latest] <results.json> [out.md]");
  process.exit(2);
}
const session = JSON.parse(readFileSync(json, "utf8")) as Session;
const target = out ?? json.replace(/\.json$/, ".md");
const notes = json.replace(/\.json$/, ".analysis.md");
writeFileSync(target, renderReport(session, existsSync(notes) ? readFileSync(notes, "utf8") : ""));
if (latest) copyFileSync(target, join(dirname(target), "latest.md"));
console.error(`wrote ${target}${latest ? " and latest.md" : ""}`);
