import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inspectCommand } from "../cmd/inspect.ts";

/** Static imports of a module (not `import(...)` expressions), resolved relative to it. */
function staticImports(file: URL): URL[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1] ?? "");
  return specs.filter((s) => s.startsWith(".")).map((s) => new URL(s, file));
}

function staticClosure(entry: URL): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const walk = (file: URL) => {
    if (files.has(file.href)) return;
    files.add(file.href);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
      const spec = m[1] ?? "";
      if (!spec.startsWith(".")) bare.add(spec);
    }
    for (const dep of staticImports(file)) walk(dep);
  };
  walk(entry);
  return { files, bare };
}

test("cmd/inspect.ts loads the inspector lazily: no static import of tui/, Ink or React", () => {
  const { files, bare } = staticClosure(new URL("../cmd/inspect.ts", import.meta.url));
  assert.deepEqual([...files].filter((f) => f.includes("/tui/")), []);
  assert.deepEqual([...bare].sort(), ["@commander-js/extra-typings", "node:process"]);
});

test("the printers never load Ink or React", () => {
  const { bare } = staticClosure(new URL("./print/run.ts", import.meta.url));
  assert.ok(![...bare].some((b) => b === "ink" || b === "react" || b.startsWith("react/")), [...bare].join(", "));
});

test("tui/ imports nothing from src/ but the wire types, and those as types only", () => {
  const { files } = staticClosure(new URL("./run.tsx", import.meta.url));
  for (const f of files) {
    if (!f.includes("/tui/")) continue;
    const text = readFileSync(new URL(f), "utf8");
    for (const m of text.matchAll(/^\s*import\s+(type\s+)?[^;]*?from\s+"([^"]*\/src\/[^"]*)"/gm)) {
      assert.ok(m[2]?.endsWith("/src/admin/wire.ts"), `${f} imports ${m[2]}`);
      assert.ok(m[1] !== undefined, `${f} must use "import type" for ${m[2]}`);
    }
  }
});

test("the command: inspect [url] with its flags and six subcommands", () => {
  const cmd = inspectCommand();
  assert.equal(cmd.name(), "inspect");
  assert.deepEqual(cmd.commands.map((c) => c.name()), ["workers", "connections", "tasks", "stats", "clusters", "config"]);
  const flags = cmd.options.map((o) => o.long);
  for (const f of ["--admin-token", "--record", "--replay", "--lag-threshold-ms", "--imbalance", "--error-rate", "--queue-growth"]) {
    assert.ok(flags.includes(f), f);
  }
  for (const sub of cmd.commands) {
    assert.deepEqual(sub.options.map((o) => o.long), ["--json", "--watch", "--filter"]);
  }
  assert.equal(cmd.options.find((o) => o.long === "--admin-token")?.envVar, "WEFT_ADMIN_TOKEN");
});

test("threshold flags are validated", async () => {
  const cmd = inspectCommand();
  let err = "";
  cmd.exitOverride().configureOutput({ writeErr: (s) => void (err += s), writeOut: () => {} });
  await assert.rejects(cmd.parseAsync(["--error-rate", "5", "workers"], { from: "user" }));
  assert.match(err, /Cannot use --error-rate "5": expected a fraction between 0 and 1/);
});
