/**
 * Builds the standalone `weft` binary with Bun (`bun scripts/compile.ts [outfile]`), offline.
 * Worker entry files are extra entry points (a compiled binary cannot find them otherwise), and
 * Ink's optional `react-devtools-core` import is stubbed: it is only loaded under DEV=true.
 *
 * The Deno recipe is `deno task compile`; it needs a download (denort) that some machines cannot reach.
 */
// deno-lint-ignore no-explicit-any
declare const Bun: any;

const outfile = process.argv[2] ?? "dist/weft";

const stubDevtools = {
  name: "stub-react-devtools-core",
  // deno-lint-ignore no-explicit-any
  setup(build: any) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: "export default { initialize() {}, connectToDevTools() {} };",
      loader: "js",
    }));
  },
};

const result = await Bun.build({
  entrypoints: [
    "./cmd/main.ts",
    "./src/edge/worker_main.ts",
    "./src/edge/builtin_echo_worker.ts",
    ...WORKER_EXTRAS(),
  ],
  compile: { outfile },
  minify: false,
  sourcemap: "none",
  plugins: [stubDevtools],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile}`);

/** Worker files of other modes, when present. */
function WORKER_EXTRAS(): string[] {
  const fs = require("node:fs");
  return ["./src/tunnel/worker_main.ts"].filter((p) => fs.existsSync(p));
}
