/**
 * What the dispatcher's inspector instrumentation costs one proxied request, measured in isolation:
 * the calls a request makes into a worker's `Dispatcher` (two socket callbacks bracketed by the loop
 * sampler, a task started, moved through two states and finished, the connection touched twice), on
 * a dispatcher with instrumentation on and on one with it off, alternated over several rounds.
 * Throughput runs on a shared 2-core machine spread by 20–40% per round, too much to resolve a 3%
 * effect; this resolves nanoseconds. Divide by the proxy's CPU per request (from `bench/run.ts`) for
 * the share.
 *
 * Usage: `deno run -A bench/instrumentation_cost.ts [--us-per-request 41.8] [--json]` or
 * `bun bench/instrumentation_cost.ts [...]`. `--json` prints one {@linkcode InstrumentationCost}
 * (what `bench/run.ts` records beside its on/off throughput pairs).
 *
 * @module
 */
import process from "node:process";
import { Dispatcher } from "../src/worker/dispatcher.ts";
import { option } from "./argv.ts";
import { spread } from "./stats.ts";

const REQUESTS = 200_000;
const ROUNDS = 7;
const usPerRequest = Number(option("us-per-request", "0"));

/** One runtime's measurement (ns per request; medians over rounds). */
export interface InstrumentationCost {
  runtime: string;
  nsOn: number;
  nsOff: number;
  /** Median of the per-round differences on − off. */
  nsDelta: number;
  rounds: number;
  requestsPerRound: number;
}

/** ns per request for `requests` requests on 64 connections, as the proxy makes the calls. */
function run(d: Dispatcher, requests: number): number {
  const rows = Array.from({ length: 64 }, (_, i) => d.connections.open("127.0.0.1", 40000 + i, "edge", "http"));
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) {
    const row = rows[i & 63]!;
    // Downstream data: the request head arrives, an exchange starts its task.
    d.loop.enter();
    row.lastActivityAt = d.loop.wallNow();
    d.connections.touch(row);
    const task = d.tasks.start(row.id, "edge", "GET", "/");
    task.route = "all/catch-all";
    d.tasks.setState(task, "waiting_response");
    d.loop.leave();
    // Upstream data: the response streams back and the task finishes.
    d.loop.enter();
    d.tasks.setState(task, "streaming");
    d.tasks.finish(task);
    d.connections.touch(row);
    d.loop.leave();
  }
  const ns = ((performance.now() - t0) * 1e6) / requests;
  for (const row of rows) d.connections.close(row);
  d.report(); // what a flush does with the rows, outside the timed loop
  return ns;
}

const on = new Dispatcher(0, { instrumentation: true });
const off = new Dispatcher(1, { instrumentation: false });
run(on, REQUESTS); // warm-up (JIT)
run(off, REQUESTS);
const nsOn: number[] = [];
const nsOff: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  nsOn.push(run(on, REQUESTS));
  nsOff.push(run(off, REQUESTS));
}
const median = (xs: number[]) => spread(xs).median;
const delta = median(nsOn.map((v, i) => v - nsOff[i]!));
const runtime = process.versions.bun ? `bun ${process.versions.bun}` : `deno ${(process.versions as Record<string, string>).deno}`;
if (process.argv.includes("--json")) {
  const cost: InstrumentationCost = { runtime, nsOn: median(nsOn), nsOff: median(nsOff), nsDelta: delta, rounds: ROUNDS, requestsPerRound: REQUESTS };
  console.log(JSON.stringify(cost));
  process.exit(0);
}
const lines = [
  `${runtime}: dispatcher calls of one request, median of ${ROUNDS} rounds × ${REQUESTS} requests`,
  `  instrumentation on  ${median(nsOn).toFixed(0)} ns/request (${nsOn.map((v) => v.toFixed(0)).join(", ")})`,
  `  instrumentation off ${median(nsOff).toFixed(0)} ns/request (${nsOff.map((v) => v.toFixed(0)).join(", ")})`,
  `  cost of instrumentation: ${delta.toFixed(0)} ns/request (median of per-round differences)`,
];
if (usPerRequest > 0) lines.push(`  = ${((delta / 1000 / usPerRequest) * 100).toFixed(2)}% of ${usPerRequest} µs CPU per proxied request`);
console.log(lines.join("\n"));
