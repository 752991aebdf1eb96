/**
 * Issue 17, section 2: `scripts/test.sh` (what `npm test` runs) counts passed, failed and skipped
 * tests of both runtimes, counts a runtime that crashed as failed, and ends with
 * "N passed, N failed, N skipped" alone on its last line. Runs the real script with stand-in `deno`
 * and `bun` executables that print what the real ones print.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { REPO } from "./helpers/weft_process.ts";

interface Fake {
  /** What `<runtime> test …` prints. */
  output: string;
  exit: number;
}

const DENO_OK: Fake = { output: "running 7 tests\nok | 5 passed (2 steps) | 0 failed | 2 ignored (1s)\n", exit: 0 };
const BUN_OK: Fake = { output: " 4 pass\n 1 skip\n 1 todo\n 0 fail\nRan 6 tests across 2 files. [1.00s]\n", exit: 0 };

/** Runs scripts/test.sh with stand-ins; `lintExit` is what `deno lint` exits with. */
function runScript(deno: Fake, bun: Fake, lintExit = 0): { lines: string[]; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), "weft-test-sh-"));
  const fake = (name: string, f: Fake, lint: string) => {
    const outFile = join(dir, `${name}.out`);
    writeFileSync(outFile, f.output);
    const path = join(dir, name);
    writeFileSync(path, `#!/usr/bin/env bash\n${lint}cat '${outFile}'\nexit ${f.exit}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const r = spawnSync("bash", ["scripts/test.sh"], {
    cwd: REPO,
    encoding: "utf8",
    env: {
      ...process.env,
      WEFT_DENO: fake("deno", deno, `if [ "$1" = lint ]; then exit ${lintExit}; fi\n`),
      WEFT_BUN: fake("bun", bun, ""),
    },
    timeout: 60_000,
  });
  return { lines: r.stdout.trimEnd().split("\n"), status: r.status };
}

test("test.sh sums passed, failed and skipped over both runtimes on its last line", () => {
  const r = runScript(DENO_OK, BUN_OK);
  assert.equal(r.lines.at(-1), "9 passed, 0 failed, 4 skipped");
  assert.equal(r.status, 0);
  const failing = runScript({ output: "FAILED | 3 passed | 2 failed (1s)\n", exit: 1 }, BUN_OK);
  assert.equal(failing.lines.at(-1), "7 passed, 2 failed, 2 skipped");
  assert.notEqual(failing.status, 0);
});

test("test.sh counts a runtime that crashed without a summary as failed", () => {
  const deno = runScript({ output: "running 7 tests\nerror: Uncaught (in worker) Error: boom\n", exit: 1 }, BUN_OK);
  assert.ok(deno.lines.includes("deno: crashed (exit 1, no summary line): counted as 1 failed"), deno.lines.join("\n"));
  assert.equal(deno.lines.at(-1), "4 passed, 1 failed, 2 skipped");
  assert.notEqual(deno.status, 0);
  // A crash part-way: counts printed so far, but no "Ran … tests" line.
  const bun = runScript(DENO_OK, { output: " 3 pass\n 0 fail\nSegmentation fault\n", exit: 139 });
  assert.equal(bun.lines.at(-1), "5 passed, 1 failed, 2 skipped");
  assert.notEqual(bun.status, 0);
});

test("test.sh counts a non-zero exit without a failed test as failed, and a failed lint", () => {
  const r = runScript({ ...DENO_OK, exit: 1 }, BUN_OK);
  assert.equal(r.lines.at(-1), "9 passed, 1 failed, 4 skipped");
  assert.notEqual(r.status, 0);
  // (Bun prints no skip or todo line when there are none.)
  const lint = runScript(DENO_OK, { output: " 4 pass\n 0 fail\nRan 4 tests across 2 files. [1.00s]\n", exit: 0 }, 1);
  assert.equal(lint.lines.at(-1), "9 passed, 1 failed, 2 skipped");
  assert.notEqual(lint.status, 0);
});
