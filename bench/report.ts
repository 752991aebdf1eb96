/**
 * Renders a session as the markdown results file: machine, targets (met / not met, with the gap),
 * one table per measurement (median, min–max over rounds, ratio to nginx in the same round), the
 * perf profile and every incident.
 *
 * @module
 */
import type { ProfileShare, Session, ThroughputSample } from "./session.ts";
import { type Spread, spread } from "./stats.ts";

const MiB = 2 ** 20;

function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Rounds in the session being rendered: a figure from fewer rounds says so. */
let sessionRounds = 0;

/** A median over rounds; `disturbed`: only runs disturbed by other processes were available. */
type Figure = Spread & { disturbed?: boolean };

function sp(s: Figure, digits = 0, suffix = ""): string {
  if (s.n === 0) return "–";
  const notes = `${s.n < sessionRounds ? ` [n=${s.n}]` : ""}${s.disturbed ? " ⚠" : ""}`;
  if (s.n === 1) return `${num(s.median, digits)}${suffix}${notes}`;
  return `${num(s.median, digits)}${suffix} (${num(s.min, digits)}–${num(s.max, digits)})${notes}`;
}

function ratio(s: Spread): string {
  return sp(s, 2, "×");
}

/** A spread of fractions as percentages, with the same notes as sp(). */
function pctFig(f: Figure): string {
  if (f.n === 0) return "–";
  const notes = `${f.n < sessionRounds ? ` [n=${f.n}]` : ""}${f.disturbed ? " ⚠" : ""}`;
  return f.n === 1 ? `${pct(f.median)}${notes}` : `${pct(f.median)} (${pct(f.min)} to ${pct(f.max)})${notes}`;
}

function pct(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${(x * 100).toFixed(digits)}%` : "–";
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null;
  gap: string;
}

class View {
  /** Other processes' CPU above which a throughput run counts as disturbed. */
  readonly busyLimit: number;
  constructor(readonly s: Session) {
    this.busyLimit = Math.max(0.25, s.options.quietCores ?? 0.3);
  }

  clean(t: ThroughputSample): boolean {
    return !(t.foreignCores > this.busyLimit);
  }

  /** Every throughput sample of a configuration, disturbed ones included. */
  allTp(id: string): ThroughputSample[] {
    return this.s.throughput.filter((t) => t.caseId === id);
  }

  label(id: string): string {
    return this.s.cases.find((c) => c.id === id)?.label ?? id;
  }

  /** The undisturbed samples of a configuration, or all of them when none is. */
  tp(id: string): ThroughputSample[] {
    const all = this.allTp(id);
    const clean = all.filter((t) => this.clean(t));
    return clean.length ? clean : all;
  }

  /** Per-round f(a) / f(b), from rounds where both runs were undisturbed (or all rounds, if none). */
  tpPairs(a: string, b: string, f: (t: ThroughputSample) => number): number[] {
    const clean = this.pairs(this.s.throughput.filter((t) => this.clean(t)), a, b, f);
    return clean.length ? clean : this.pairs(this.s.throughput, a, b, f);
  }

  /** True when no round had undisturbed runs of both (tpPairs fell back to disturbed ones). */
  pairsDisturbed(a: string, b: string): boolean {
    const clean = this.s.throughput.filter((t) => this.clean(t));
    return !clean.some((x) => x.caseId === a && clean.some((y) => y.caseId === b && y.round === x.round)) && this.allTp(a).length > 0;
  }

  /** Spread of per-round f(a) / f(b) values, marked when only disturbed rounds were available. */
  tpPairSpread(a: string, b: string, f: (t: ThroughputSample) => number, map: (r: number) => number = (r) => r): Figure {
    return { ...spread(this.tpPairs(a, b, f).map(map)), disturbed: this.pairsDisturbed(a, b) };
  }

  has(id: string): boolean {
    return this.tp(id).length > 0;
  }

  /** Per-round values of f(a) / f(b) for rounds where both ran. */
  pairs<T extends { caseId: string; round: number }>(list: T[], a: string, b: string, f: (x: T) => number): number[] {
    const out: number[] = [];
    for (const x of list.filter((t) => t.caseId === a)) {
      const y = list.find((t) => t.caseId === b && t.round === x.round);
      if (y && f(y) > 0) out.push(f(x) / f(y));
    }
    return out;
  }

  tpRatio(id: string, f: (t: ThroughputSample) => number, base = "nginx"): Figure {
    return this.tpPairSpread(id, base, f);
  }

  tpSpread(id: string, f: (t: ThroughputSample) => number): Figure {
    return { ...spread(this.tp(id).map(f)), disturbed: !this.allTp(id).some((t) => this.clean(t)) && this.allTp(id).length > 0 };
  }

  /** Proxy CPU µs per request (user, sys), over all rounds. */
  cpuPerRequest(id: string): { user: number; sys: number } | null {
    const t = this.tp(id).filter((x) => x.cpu && x.requests > 0);
    if (!t.length) return null;
    const req = t.reduce((a, x) => a + x.requests, 0);
    return {
      user: (t.reduce((a, x) => a + x.cpu!.user, 0) / req) * 1e6,
      sys: (t.reduce((a, x) => a + x.cpu!.sys, 0) / req) * 1e6,
    };
  }

  streamSpread(id: string): Spread {
    return spread(this.s.streaming.filter((x) => x.caseId === id && x.result.complete).map((x) => x.result.mbps));
  }

  streamRatio(id: string, base: string): Spread {
    return spread(this.pairs(this.s.streaming.filter((x) => x.result.complete), id, base, (x) => x.result.mbps));
  }

  idleSpread(id: string): Spread {
    return spread(this.s.idle.filter((x) => x.caseId === id && x.result.openAfterHold > 0).map((x) => x.result.perConnectionKiB));
  }
}

function runtimeName(rt: string): string {
  return rt === "bun" ? "Bun" : "Deno";
}

/** Why a throughput target is missed, from the CPU accounting and the perf profile. */
function cpuExplanation(v: View, id: string): string {
  const w = v.cpuPerRequest(id);
  const n = v.cpuPerRequest("nginx");
  if (!w || !n) return "";
  const parts = [
    `weft spends ${num(w.user, 1)} µs user + ${num(w.sys, 1)} µs system CPU per request, nginx ${num(n.user, 1)} + ${num(n.sys, 1)}`,
  ];
  const du = w.user - n.user, ds = w.sys - n.sys;
  parts.push(
    du > ds
      ? `the extra ${num(du, 1)} µs is mostly user time (JavaScript, the runtime, GC)`
      : `the extra is mostly system time (${num(ds, 1)} µs: more syscalls per request)`,
  );
  const prof = v.s.profiles.find((p) => p.caseId === id);
  const nprof = v.s.profiles.find((p) => p.caseId === "nginx");
  if (prof && nprof && Number.isFinite(prof.syscallsPerRequest)) {
    parts.push(
      `perf stat: ${num(prof.syscallsPerRequest, 1)} syscalls and ${num(prof.contextSwitchesPerRequest, 2)} context switches per request (nginx ${
        num(nprof.syscallsPerRequest, 1)
      } and ${num(nprof.contextSwitchesPerRequest, 2)})`,
    );
  }
  if (prof && prof.dsos.length) parts.push(`perf samples by DSO: ${prof.dsos.slice(0, 4).map((d) => `${d.what} ${(d.share * 100).toFixed(0)}%`).join(", ")}`);
  const threads = mergedThreads(v, id);
  if (threads.length) {
    const total = threads.reduce((a, t) => a + t.user + t.sys, 0);
    parts.push(`threads: ${threads.slice(0, 3).map((t) => `${t.name} ${((t.user + t.sys) / total * 100).toFixed(0)}%`).join(", ")}`);
  }
  return parts.join("; ");
}

/** What the peak RSS is made of: the idle baseline, and what one worker adds. */
function rssExplanation(v: View, rt: string): string {
  const peak = (id: string) => v.tpSpread(id, (t) => (t.peakRss ?? NaN) / MiB).median;
  const one = peak(`weft-${rt}-1`), two = peak(`weft-${rt}-2`);
  const idle = spread(v.s.idle.filter((x) => x.caseId === `weft-${rt}-2`).map((x) => x.result.rssBeforeBytes / MiB)).median;
  const parts = ["peak RSS is VmHWM of the weft process (start-up, warm-up and the measured run)"];
  if (Number.isFinite(one) && Number.isFinite(two)) {
    parts.push(`1 worker peaks at ${num(one)} MiB, 2 at ${num(two)} MiB: each worker (a JS VM) adds about ${num(two - one)} MiB`);
  }
  if (Number.isFinite(idle)) parts.push(`the 2-worker process already holds ${num(idle)} MiB idle after a warm-up, before any load`);
  return parts.join("; ");
}

/** Per-thread-name CPU summed over rounds, µs per request. */
function mergedThreads(v: View, id: string): { name: string; threads: number; user: number; sys: number }[] {
  const t = v.tp(id).filter((x) => x.threads && x.requests > 0);
  const req = t.reduce((a, x) => a + x.requests, 0);
  const m = new Map<string, { name: string; threads: number; user: number; sys: number }>();
  for (const x of t) {
    for (const th of x.threads!) {
      const e = m.get(th.name) ?? { name: th.name, threads: 0, user: 0, sys: 0 };
      e.threads = Math.max(e.threads, th.threads);
      e.user += th.user;
      e.sys += th.sys;
      m.set(th.name, e);
    }
  }
  return [...m.values()].map((e) => ({ ...e, user: (e.user / req) * 1e6, sys: (e.sys / req) * 1e6 }))
    .filter((e) => e.user + e.sys > 0.005)
    .sort((a, b) => b.user + b.sys - (a.user + a.sys));
}

export function evaluateTargets(s: Session): TargetRow[] {
  const v = new View(s);
  sessionRounds = s.options.rounds;
  const rows: TargetRow[] = [];
  const atLeast = (target: string, value: Spread, min: number, unit: string, why: () => string) => {
    if (value.n === 0) return rows.push({ target, measured: "not measured", met: null, gap: "" });
    const met = value.median >= min;
    rows.push({
      target,
      measured: sp(value, 2, unit),
      met,
      gap: met
        ? `${pct(value.median / min - 1)} margin`
        : `${pct(value.median / min - 1)} below the target (needs ${pct(min / value.median - 1)})${why() ? `. ${why()}` : ""}`,
    });
  };
  const atMost = (target: string, value: Spread, max: number, unit: string, digits: number, why: () => string) => {
    if (value.n === 0) return rows.push({ target, measured: "not measured", met: null, gap: "" });
    const met = value.median <= max;
    rows.push({
      target,
      measured: sp(value, digits, unit),
      met,
      gap: met ? `${pct(1 - value.median / max)} headroom` : `${pct(value.median / max - 1)} over the limit${why() ? `. ${why()}` : ""}`,
    });
  };
  for (const rt of s.options.runtimes) {
    const id = `weft-${rt}-2`;
    const R = runtimeName(rt);
    if (rt === "bun") {
      atLeast("weft Bun 2w requests/s ≥ 1.0× nginx", v.tpRatio(id, (t) => t.rps), 1.0, "×", () => cpuExplanation(v, id));
      atMost(
        "weft Bun 2w p99 ≤ 1.25× nginx",
        v.tpRatio(id, (t) => t.p99),
        1.25,
        "×",
        2,
        () => "p99 follows CPU saturation: with the client, backend and proxy on 2 cores, the proxy's extra CPU per request queues requests behind each other",
      );
    } else {
      atLeast("weft Deno 2w requests/s ≥ 0.6× nginx", v.tpRatio(id, (t) => t.rps), 0.6, "×", () => cpuExplanation(v, id));
    }
    atMost(`weft ${R} 2w idle keep-alive connection ≤ 8 KiB RSS`, v.idleSpread(id), 8, " KiB", 2, () => {
      const n = v.idleSpread("nginx");
      return n.n ? `nginx holds one for ${num(n.median, 2)} KiB; the growth is the runtime's per-socket state and buffers (see Analysis, if present)` : "";
    });
    const limit = rt === "bun" ? 100 : 200;
    atMost(
      `weft ${R} 2w peak RSS under load ≤ ${limit} MiB`,
      v.tpSpread(id, (t) => (t.peakRss ?? NaN) / MiB),
      limit,
      " MiB",
      0,
      () => rssExplanation(v, rt),
    );
    atLeast(`weft ${R} 2w streaming 1 GiB ≥ 1.0× nginx MB/s`, v.streamRatio(id, "nginx"), 1.0, "×", () => "");
    rows.push(instrumentationTarget(v, rt, id));
  }
  return rows;
}

/** The proxy's CPU per request in one run, µs (NaN without CPU figures). */
function cpuPerRequestOf(t: ThroughputSample): number {
  return t.cpu && t.requests > 0 ? ((t.cpu.user + t.cpu.sys) / t.requests) * 1e6 : NaN;
}

/**
 * The instrumentation's cost in the real run: per round, CPU per request with it on ÷ with it off − 1
 * (the `--no-instrumentation` run of the same round), median over rounds. CPU per request is
 * steadier than req/s on a shared machine; the isolated measurement and the req/s pairs are quoted
 * beside it. Without same-round pairs, the isolated measurement decides.
 */
function instrumentationTarget(v: View, rt: string, id: string): TargetRow {
  const target = `weft ${runtimeName(rt)} dispatcher instrumentation ≤ 3% of CPU per request`;
  const cpuOverhead = v.tpPairSpread(id, `${id}-noinstr`, cpuPerRequestOf, (r) => r - 1);
  const rpsOverhead = v.tpPairSpread(`${id}-noinstr`, id, (t) => t.rps, (r) => 1 - 1 / r);
  const isolated = isolatedInstrumentationShare(v, rt, id);
  const context = [
    rpsOverhead.n > 0 ? `req/s pairs ${pctFig(rpsOverhead)}` : "",
    isolated ? `${isolated.text} (${(isolated.share * 100).toFixed(2)}% in isolation)` : "",
    instrumentationCpu(v, id),
  ].filter(Boolean).join("; ");
  if (cpuOverhead.n > 0) {
    const met = cpuOverhead.median <= 0.03;
    return {
      target,
      measured: `${pctFig(cpuOverhead)} CPU per request, on ÷ off per round`,
      met,
      gap: `${met ? "within the limit" : `${((cpuOverhead.median - 0.03) * 100).toFixed(1)} points over the limit`}; ${context}`,
    };
  }
  if (isolated !== null) {
    const met = isolated.share <= 0.03;
    return {
      target,
      measured: `${(isolated.share * 100).toFixed(2)}% of CPU per request in isolation (no same-round on/off pair)`,
      met,
      gap: `${isolated.text}${met ? "" : `, ${((isolated.share - 0.03) * 100).toFixed(1)} points over the limit`}`,
    };
  }
  return { target, measured: "not measured", met: null, gap: "" };
}

/** `bench/instrumentation_cost.ts`'s ns per request as a share of the instrumented run's CPU per request. */
function isolatedInstrumentationShare(v: View, rt: string, id: string): { share: number; text: string } | null {
  const cost = v.s.instrumentationCost?.[rt];
  const cpu = v.cpuPerRequest(id);
  if (!cost || !cpu) return null;
  const us = cpu.user + cpu.sys;
  return {
    share: cost.nsDelta / 1000 / us,
    text: `bench/instrumentation_cost.ts: ${cost.nsDelta.toFixed(0)} ns per request on vs off (${cost.nsOn.toFixed(0)} vs ${cost.nsOff.toFixed(0)}) of ${num(us, 1)} µs CPU per request`,
  };
}

/** The instrumentation's cost in CPU per request (less noisy than req/s), and the req/s noise floor. */
function instrumentationCpu(v: View, id: string): string {
  const on = v.cpuPerRequest(id), off = v.cpuPerRequest(`${id}-noinstr`);
  const noise = spreadWidth(v.tpSpread(id, (t) => t.rps));
  const parts: string[] = [];
  if (on && off) {
    const a = on.user + on.sys, b = off.user + off.sys;
    parts.push(`CPU per request ${num(a, 1)} µs on, ${num(b, 1)} µs off (${pct(a / b - 1)})`);
  }
  if (Number.isFinite(noise) && v.tp(id).length > 1) {
    parts.push(`the instrumented runs alone spread by ${(noise * 100).toFixed(1)}% across rounds, so a 3% effect is near the noise`);
  }
  return parts.join("; ");
}

function spreadWidth(s: Spread): number {
  return s.n ? (s.max - s.min) / s.median : NaN;
}

/** The same function JIT-compiled more than once (tiers, inlining) appears once, summed. */
function mergeShares(list: ProfileShare[]): ProfileShare[] {
  const m = new Map<string, number>();
  for (const x of list) {
    const key = x.what.replace(/^JS:[*+~^]?'?/, "JS: ");
    m.set(key, (m.get(key) ?? 0) + x.share);
  }
  return [...m].map(([what, share]) => ({ what, share })).sort((a, b) => b.share - a.share);
}

function shares(list: ProfileShare[], n: number): string {
  return list.slice(0, n).map((x) => `${(x.share * 100).toFixed(1)}% ${x.what.replace(/\|/g, "\\|")}`).join("<br>");
}

/** `analysis`: hand-written notes (markdown) placed after the targets, e.g. from `<results>.analysis.md`. */
export function renderReport(s: Session, analysis = ""): string {
  const v = new View(s);
  sessionRounds = s.options.rounds;
  const m = s.machine;
  const o = s.options;
  const out: string[] = [];
  const date = s.startedAt.slice(0, 10);
  out.push(`# weft benchmark, ${date} (${o.runtimes.map(runtimeName).join(" and ")})`);
  out.push("");
  out.push(
    `Generated by \`bench/run.ts\` (${s.command}); ${o.rounds} interleaved round${
      o.rounds > 1 ? "s" : ""
    } (every configuration once per round, the same order), \`wrk -t1 -c64 --latency\` for ${o.durationS} s after a ${o.warmupS} s warm-up, each proxy freshly started per run. ` +
      `Figures are medians over rounds with the min–max spread in brackets; "× nginx" is the median of the per-round ratios to nginx (2 workers) in the same round. ` +
      `Client, backend and proxy share the machine's ${m.nproc} CPUs, so ratios mean more than absolutes.${o.quick ? " **Quick mode: not a full run.**" : ""}`,
  );
  out.push("");
  out.push(`Started ${s.startedAt}, finished ${s.finishedAt}.`);
  out.push("");
  out.push("## Machine");
  out.push("");
  out.push(table(["", ""], [
    ["CPU", `${m.cpuModel}, ${m.nproc} CPUs (nproc)`],
    ["memory", `${num(m.memTotalMiB)} MiB`],
    ["kernel", m.kernel],
    ["OS", m.os],
    ...Object.entries(m.versions).map(([k, val]) => [k, val]),
    ["weft commit", m.weftCommit],
    ["harness runtime", m.harnessRuntime],
    ["open-files limit", num(s.nofileLimit)],
  ]));
  out.push("");

  // Targets
  out.push("## Targets");
  out.push("");
  const targets = evaluateTargets(s);
  out.push(
    table(
      ["target", "measured: median (min–max)", "status", "gap"],
      targets.map((t) => [t.target, t.measured, t.met === null ? "not measured" : t.met ? "**met**" : "**not met**", t.gap]),
    ),
  );
  out.push("");
  if (analysis.trim()) {
    out.push("## Analysis");
    out.push("");
    out.push(analysis.trim());
    out.push("");
  }

  // Throughput
  const tpIds = s.cases.filter((c) => v.has(c.id)).map((c) => c.id);
  if (tpIds.length) {
    out.push("## Requests/s and latency");
    out.push("");
    out.push(
      `Other CPU is what anything outside the benchmark used during the run (machine busy time from /proc/stat minus proxy, backend, wrk and harness). A run during which it exceeded ${v.busyLimit} CPUs was repeated (up to ${
        s.options.retries ?? 0
      } times); runs still disturbed are marked ⚠ in the per-round table and left out of medians and ratios wherever an undisturbed run of the same configuration (and, for ratios, of nginx in the same round) exists. ` +
        "Proxy CPU is utime+stime of the proxy's processes (nginx: master + workers) over the measured window from /proc/<pid>/stat, in cores (1.00 = one CPU busy) and µs per request; peak RSS is VmHWM (summed over nginx's processes), RSS under load the highest VmRSS sampled every 200 ms during the run. Errors are wrk's socket errors plus non-2xx answers (all runs). The direct row's CPU is the backend's.",
    );
    out.push("");
    out.push(table(
      [
        "configuration",
        "req/s",
        "× nginx",
        "p50 ms",
        "p99 ms",
        "p99 × nginx",
        "proxy CPU (cores)",
        "proxy µs/req user+sys",
        "backend µs/req",
        "peak RSS MiB",
        "RSS under load MiB",
        "errors",
        "other CPU (cores)",
      ],
      tpIds.map((id) => {
        const cpu = id === "direct" ? null : v.cpuPerRequest(id);
        const t = v.tp(id);
        const disturbed = v.allTp(id).length - v.allTp(id).filter((x) => v.clean(x)).length;
        const cores = spread(
          t.map((x) => (x.cpu ? (x.cpu.user + x.cpu.sys) / o.durationS : id === "direct" ? (x.backendCpu.user + x.backendCpu.sys) / o.durationS : NaN)),
        );
        const breq = t.reduce((a, x) => a + x.requests, 0);
        const bcpu = breq ? (t.reduce((a, x) => a + x.backendCpu.user + x.backendCpu.sys, 0) / breq) * 1e6 : NaN;
        return [
          v.label(id),
          sp(v.tpSpread(id, (x) => x.rps)),
          id === "nginx" ? "1.00×" : ratio(v.tpRatio(id, (x) => x.rps)),
          sp(v.tpSpread(id, (x) => x.p50), 2),
          sp(v.tpSpread(id, (x) => x.p99), 2),
          id === "nginx" ? "1.00×" : ratio(v.tpRatio(id, (x) => x.p99)),
          sp(cores, 2),
          cpu ? `${num(cpu.user, 1)} + ${num(cpu.sys, 1)} = ${num(cpu.user + cpu.sys, 1)}` : "–",
          num(bcpu, 1),
          id === "direct" ? "–" : sp(v.tpSpread(id, (x) => (x.peakRss ?? NaN) / MiB)),
          id === "direct" ? "–" : sp(v.tpSpread(id, (x) => (x.loadRss ?? NaN) / MiB)),
          num(v.allTp(id).reduce((a, x) => a + x.errors, 0)),
          `${sp(spread(t.map((x) => x.foreignCores)), 2)}${disturbed ? ` (${disturbed} disturbed run${disturbed > 1 ? "s" : ""} left out)` : ""}`,
        ];
      }),
    ));
    out.push("");
    out.push("### Per round (req/s, and × nginx in the same round)");
    out.push("");
    const rounds = Array.from({ length: o.rounds }, (_, i) => i + 1);
    out.push(table(
      ["configuration", ...rounds.map((r) => `round ${r}`)],
      tpIds.map((id) => [
        v.label(id),
        ...rounds.map((r) => {
          const x = s.throughput.find((t) => t.caseId === id && t.round === r);
          const n = s.throughput.find((t) => t.caseId === "nginx" && t.round === r);
          if (!x) return "failed";
          return `${num(x.rps)}${n ? ` (${(x.rps / n.rps).toFixed(2)}×)` : ""}, p99 ${x.p99.toFixed(2)} ms${
            v.clean(x) ? "" : ` ⚠ other CPU ${x.foreignCores.toFixed(2)}`
          }${x.attempts > 1 ? ` (attempt ${x.attempts})` : ""}`;
        }),
      ]),
    ));
    out.push("");
    const weftCounted = s.throughput.filter((t) => t.weftRequests !== null);
    if (weftCounted.length) {
      out.push(
        `Stats on: after each weft run, \`/stats\` counted ${
          num(weftCounted.reduce((a, t) => a + t.weftRequests!, 0))
        } downstream requests over ${weftCounted.length} runs (warm-up included), for ${num(weftCounted.reduce((a, t) => a + t.requests, 0))} measured by wrk.`,
      );
      out.push("");
    }

    // Scaling
    const rts = o.runtimes.filter((rt) => v.has(`weft-${rt}-1`) && v.has(`weft-${rt}-2`));
    if (rts.length) {
      out.push("## Scaling from 1 to 2 workers");
      out.push("");
      out.push(
        table(
          ["runtime", "1 worker req/s", "2 workers req/s", "2w ÷ 1w (per round)", "p99 1w ms", "p99 2w ms", "CPU 1w (cores)", "CPU 2w (cores)"],
          rts.map((rt) => {
            const a = `weft-${rt}-1`, b = `weft-${rt}-2`;
            const cores = (id: string) => spread(v.tp(id).map((x) => (x.cpu ? (x.cpu.user + x.cpu.sys) / o.durationS : NaN)));
            return [
              runtimeName(rt),
              sp(v.tpSpread(a, (x) => x.rps)),
              sp(v.tpSpread(b, (x) => x.rps)),
              ratio(v.tpPairSpread(b, a, (x) => x.rps)),
              sp(v.tpSpread(a, (x) => x.p99), 2),
              sp(v.tpSpread(b, (x) => x.p99), 2),
              sp(cores(a), 2),
              sp(cores(b), 2),
            ];
          }),
        ),
      );
      out.push("");
      out.push(
        "With 2 CPUs shared by wrk, the backend and the proxy, a second worker can only take CPU from the other two; the ratio shows how much of that weft converts into requests.",
      );
      out.push("");
    }

    // Instrumentation
    const instr = o.runtimes.filter((rt) => v.has(`weft-${rt}-2-noinstr`));
    if (instr.length) {
      out.push("## Dispatcher instrumentation overhead (2 workers)");
      out.push("");
      out.push(
        "The same weft run with `--no-instrumentation` (loop-lag sampler, busy-time accounting and task table off) in the same round. req/s overhead = 1 − on ÷ off, CPU/req overhead = on ÷ off − 1, per round (the target is judged on the CPU one).",
      );
      out.push("");
      out.push(table(
        ["runtime", "on req/s", "off req/s", "req/s overhead (per round)", "on p99 ms", "off p99 ms", "on µs/req", "off µs/req", "CPU/req overhead (per round)"],
        instr.map((rt) => {
          const on = `weft-${rt}-2`, off = `weft-${rt}-2-noinstr`;
          const ov = v.tpPairSpread(off, on, (x) => x.rps, (r) => 1 - 1 / r);
          const c1 = v.cpuPerRequest(on), c2 = v.cpuPerRequest(off);
          return [
            runtimeName(rt),
            sp(v.tpSpread(on, (x) => x.rps)),
            sp(v.tpSpread(off, (x) => x.rps)),
            pctFig(ov),
            sp(v.tpSpread(on, (x) => x.p99), 2),
            sp(v.tpSpread(off, (x) => x.p99), 2),
            c1 ? num(c1.user + c1.sys, 1) : "–",
            c2 ? num(c2.user + c2.sys, 1) : "–",
            pctFig(v.tpPairSpread(on, off, cpuPerRequestOf, (r) => r - 1)),
          ];
        }),
      ));
      out.push("");
    }

    // Inspector
    const insp = o.runtimes.filter((rt) => v.has(`weft-${rt}-2-inspector`));
    if (insp.length) {
      out.push("## With an inspector attached (2 workers)");
      out.push("");
      out.push(
        "A client holds `GET /events` (SSE) open on weft's admin endpoint and reads and decodes every snapshot (1 s flush), as the attached TUI does. Δ is per round against the plain run in the same round.",
      );
      out.push("");
      out.push(
        table(
          [
            "runtime",
            "plain req/s",
            "+ inspector req/s",
            "Δ req/s",
            "plain p99 ms",
            "+ inspector p99 ms",
            "Δ p99",
            "snapshots per second attached",
            "largest snapshot",
            "dropped",
          ],
          insp.map((rt) => {
            const a = `weft-${rt}-2`, b = `weft-${rt}-2-inspector`;
            const dr = v.tpPairSpread(b, a, (x) => x.rps, (r) => r - 1);
            const dp = v.tpPairSpread(b, a, (x) => x.p99, (r) => r - 1);
            const st = v.tp(b).map((x) => x.inspector).filter((x) => x !== null);
            return [
              runtimeName(rt),
              sp(v.tpSpread(a, (x) => x.rps)),
              sp(v.tpSpread(b, (x) => x.rps)),
              pctFig(dr),
              sp(v.tpSpread(a, (x) => x.p99), 2),
              sp(v.tpSpread(b, (x) => x.p99), 2),
              pctFig(dp),
              sp(spread(st.map((x) => (x!.attachedMs ? (x!.snapshots / x!.attachedMs) * 1000 : NaN))), 2),
              `${num(Math.max(0, ...st.map((x) => x!.maxSnapshotBytes)) / 1024, 1)} KiB`,
              num(st.reduce((a2, x) => a2 + x!.dropped, 0)),
            ];
          }),
        ),
      );
      out.push("");
    }

    // Thread split
    const weftIds = tpIds.filter((id) => id.startsWith("weft-") && !id.endsWith("-inspector"));
    if (weftIds.length) {
      out.push("## Where weft's CPU goes, per thread (from /proc/<pid>/task)");
      out.push("");
      out.push(
        table(
          ["configuration", "thread (count)", "user µs/req", "sys µs/req"],
          weftIds.flatMap((id) =>
            mergedThreads(v, id).slice(0, 6).map((t, i) => [i === 0 ? v.label(id) : "", `${t.name} (${t.threads})`, num(t.user, 2), num(t.sys, 2)])
          ),
        ),
      );
      out.push("");
    }
  }

  // Streaming
  const stIds = s.cases.filter((c) => s.streaming.some((x) => x.caseId === c.id)).map((c) => c.id);
  if (stIds.length) {
    out.push(`## Streaming ${num(o.streamBytes / MiB)} MiB`);
    out.push("");
    out.push(
      "One `curl -o /dev/null` download of the backend's /big (nginx sendfile from a sparse file) through each proxy; MB = 10^6 bytes. RSS is the highest VmRSS sampled every 100 ms during the download.",
    );
    out.push("");
    out.push(table(
      ["configuration", "MB/s", "× direct", "× nginx", "RSS during MiB", "complete"],
      stIds.map((id) => {
        const all = s.streaming.filter((x) => x.caseId === id);
        return [
          v.label(id),
          sp(v.streamSpread(id)),
          id === "direct" ? "1.00×" : ratio(v.streamRatio(id, "direct")),
          id === "nginx" ? "1.00×" : ratio(v.streamRatio(id, "nginx")),
          id === "direct" ? "–" : sp(spread(all.map((x) => (x.loadRss ?? NaN) / MiB))),
          `${all.filter((x) => x.result.complete).length}/${all.length}`,
        ];
      }),
    ));
    out.push("");
  }

  // Idle
  const idIds = s.cases.filter((c) => s.idle.some((x) => x.caseId === c.id)).map((c) => c.id);
  if (idIds.length) {
    out.push(`## ${num(o.idleConnections)} idle keep-alive connections`);
    out.push("");
    out.push(
      "A node:net client opens the connections through the proxy (200 at a time), sends one request on each and reads the answer, then holds them all idle for 3 s; per connection = (RSS after − RSS before) ÷ connections still open. RSS is VmRSS summed over the proxy's processes, read after a 1 s wrk warm-up; it includes whatever upstream connections the proxy keeps.",
    );
    out.push("");
    out.push(table(
      ["configuration", "held", "RSS before MiB", "RSS after MiB", "KiB per connection", "open time ms", "failed"],
      idIds.map((id) => {
        const all = s.idle.filter((x) => x.caseId === id);
        return [
          v.label(id),
          `${sp(spread(all.map((x) => x.result.openAfterHold)))} of ${num(o.idleConnections)}`,
          sp(spread(all.map((x) => x.result.rssBeforeBytes / MiB)), 1),
          sp(spread(all.map((x) => x.result.rssAfterBytes / MiB)), 1),
          sp(v.idleSpread(id), 2),
          sp(spread(all.map((x) => x.result.openMs))),
          num(all.reduce((a, x) => a + x.result.failed, 0)),
        ];
      }),
    ));
    out.push("");
  }

  // Profile
  if (s.profiles.length) {
    out.push("## Profile (perf, under the same wrk load)");
    out.push("");
    out.push(
      "`perf stat` counts syscalls (raw_syscalls:sys_enter) and context switches of the proxy's processes over the window, divided by the requests wrk completed in it; `perf record` samples them at 499 Hz (no call graphs). Deno runs with V8's `--perf-basic-prof`, so its JIT frames have JavaScript names; Bun's JIT frames are anonymous (`[JIT]`), and both runtime binaries are stripped (addresses only). Counting every syscall slows every proxy noticeably (compare req/s under perf with the throughput table); the per-request counts and the shares stay comparable between proxies.",
    );
    out.push("");
    out.push(
      table(
        [
          "configuration",
          "req/s under perf",
          "syscalls / req",
          "context switches / req",
          "samples",
          "by thread",
          "by DSO",
          "top symbols",
          "top JavaScript (JIT)",
        ],
        s.profiles.map((p) => [
          v.label(p.caseId),
          num(p.rps),
          num(p.syscallsPerRequest ?? NaN, 2),
          num(p.contextSwitchesPerRequest ?? NaN, 2),
          num(p.samples),
          shares(p.threads, 8),
          shares(p.dsos, 6),
          shares(p.symbols, 20),
          shares(mergeShares(p.js ?? []), 12),
        ]),
      ),
    );
    out.push("");
  }

  // Incidents
  out.push("## Incidents");
  out.push("");
  if (!s.incidents.length) out.push("None: every peer started, served without errors and stopped cleanly on SIGTERM.");
  for (const i of s.incidents) {
    out.push(`- **${i.phase}, ${v.label(i.caseId)}, round ${i.round}**: ${i.what}${i.command ? `\n  - command: \`${i.command}\`` : ""}`);
    if (i.log.trim()) out.push(`\n  \`\`\`\n${i.log.trim().split("\n").slice(-25).map((l) => `  ${l}`).join("\n")}\n  \`\`\``);
  }
  out.push("");

  // Method
  out.push("## Configurations");
  out.push("");
  out.push(table(["id", "configuration"], s.cases.map((c) => [c.id, `${c.description}${c.inspector ? ", inspector attached on /events" : ""}`])));
  out.push("");
  out.push(
    "All peers listen on 127.0.0.1 on free ephemeral ports, run in the foreground and are stopped with SIGTERM by the harness; configs are the templates in `bench/peers/` (nginx backend `return 200` with a 13-byte body, 1 worker, keep-alive; nginx proxy with a keep-alive upstream pool of 64, 2 workers; haproxy http mode, 2 threads; weft with five routes — direct response, header match, regex, prefix rewrite, and the catch-all the load hits, last — two clusters and a 1 s stats flush).",
  );
  out.push("");
  return out.join("\n");
}
