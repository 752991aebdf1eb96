import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const EDGE_DIR = fileURLToPath(new URL(".", import.meta.url));

/** The edge's own modules (this folder, tests and the codec's `http1/` aside) → the ones they import, type-only imports included. */
function edgeImports(): Map<string, string[]> {
  const names = readdirSync(EDGE_DIR).filter((f) => f.endsWith(".ts") && !f.endsWith("_test.ts"));
  const graph = new Map<string, string[]>();
  for (const name of names) {
    const source = readFileSync(EDGE_DIR + name, "utf8");
    const deps = [...source.matchAll(/^(?:import|export)\b[^;]*?from\s+"\.\/([^"/]+\.ts)"/gm)].map((m) => m[1]!);
    graph.set(name, deps.filter((d) => names.includes(d)));
  }
  return graph;
}

/** One import cycle as a path `a → b → … → a`, or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...path.slice(path.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (state.get(node) !== undefined) continue;
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

test("the edge's modules import each other without a cycle (downstream and exchange meet in stream.ts)", () => {
  const graph = edgeImports();
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.join(" → ")}`);
  // The walk saw the modules it is about (a moved folder would make it check nothing).
  assert.ok(graph.get("exchange.ts")?.includes("stream.ts") && graph.get("downstream.ts")?.includes("exchange.ts"));
});
