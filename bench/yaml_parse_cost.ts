/**
 * What reading the 24 MB, 100,000-cluster bootstrap of issue 17 costs, in time and peak memory,
 * with weft's one-pass reader (`src/config/yaml_fast.ts`) and with the `yaml` package used as well
 * as it can be (not a test). One way per process, so each peak RSS is its own:
 *
 *   for way in fast document document-no-unique-keys parser composer validate; do
 *     /usr/bin/time -f "%M KiB peak" deno run -A bench/yaml_parse_cost.ts $way
 *     /usr/bin/time -f "%M KiB peak" bun bench/yaml_parse_cost.ts $way
 *   done
 *
 * - fast: `parseFastYaml`, the nodes `proxy validate` reads;
 * - document: `parseDocument` with a `LineCounter`, as the fallback in `yaml_source.ts` calls it
 *   (`keepSourceTokens` is already off by default);
 * - document-no-unique-keys: the same without the duplicate-key check;
 * - parser: only the package's lower-level `Parser` (its concrete syntax tree, no nodes);
 * - composer: `Parser` + `Composer` (the nodes, without `parseDocument`'s wrapper);
 * - validate: all of `parseBootstrap` (fast reader, then the field checks).
 *
 * @module
 */
import { Composer, LineCounter, parseDocument, Parser } from "yaml";
import { parseFastYaml } from "../src/config/yaml_fast.ts";
import { parseBootstrap } from "../src/config/bootstrap.ts";
import { bigBootstrapYaml } from "../test/helpers/big_bootstrap.ts";

const WAYS: Record<string, (text: string) => unknown> = {
  fast: (text) => parseFastYaml(text),
  document: (text) => parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, merge: true, uniqueKeys: true }),
  "document-no-unique-keys": (text) =>
    parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, merge: true, uniqueKeys: false }),
  parser: (text) => [...new Parser().parse(text)].length,
  composer: (text) => {
    const lineCounter = new LineCounter();
    return [...new Composer({ merge: true }).compose(new Parser(lineCounter.addNewLine).parse(text))];
  },
  validate: (text) => parseBootstrap(text).ok,
};

const way = process.argv[2] ?? "fast";
const read = WAYS[way];
if (read === undefined) throw new Error(`unknown way ${way}: one of ${Object.keys(WAYS).join(", ")}`);
const text = bigBootstrapYaml(100_000);
const start = performance.now();
const result = read(text);
const ms = performance.now() - start;
if (result === null || result === false) throw new Error(`${way} did not read the file`);
console.log(`${way}: ${(text.length / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(2)} s`);
