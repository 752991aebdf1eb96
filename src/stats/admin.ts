/**
 * The stats section of the admin endpoint: Envoy's `/stats` (text, `?format=json`,
 * `?format=prometheus`, `?filter=REGEX`, `?usedonly`), `/stats/prometheus` and POST `/reset_counters`.
 *
 * @module
 */
import { type AdminRegistry, json, text } from "../admin/registry.ts";
import { renderJson, renderPrometheus, renderText, type StatsQuery } from "./render.ts";
import type { StatsStore } from "./store.ts";
import { compileRegex } from "../config/regex.ts";

function query(url: URL): StatsQuery | Response {
  const q: StatsQuery = { usedOnly: url.searchParams.has("usedonly") };
  const filter = url.searchParams.get("filter");
  if (filter !== null && filter !== "") {
    // RE2, as Envoy's admin: a partial match, and linear time whatever the pattern.
    const re = compileRegex(filter);
    if (typeof re === "string") return text(400, `Invalid re2 regex: ${filter}: ${re}\n`);
    q.filter = re;
  }
  return q;
}

const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=UTF-8";

export function registerStatsAdmin(admin: AdminRegistry, store: StatsStore, beforeRead: () => Promise<void>): void {
  /** Current figures and the parsed query, or the 400 for a bad query; then `render`. */
  const read = (render: (q: StatsQuery, url: URL) => Response) => async (_req: Request, url: URL) => {
    await beforeRead();
    const q = query(url);
    return q instanceof Response ? q : render(q, url);
  };
  const prometheus = (q: StatsQuery) => new Response(renderPrometheus(store, q), { headers: { "content-type": PROMETHEUS_TYPE } });
  admin.add({
    path: "/stats",
    help: "print server stats (?format=json|prometheus, ?filter=REGEX, ?usedonly)",
    handle: read((q, url) => {
      const format = url.searchParams.get("format");
      if (format === "json") return json(renderJson(store, q));
      if (format === "prometheus") return prometheus(q);
      if (format !== null && format !== "text") return text(400, `unsupported format: ${format} (use json, prometheus or text)\n`);
      return text(200, renderText(store, q));
    }),
  });
  admin.add({ path: "/stats/prometheus", help: "print server stats in prometheus format", handle: read(prometheus) });
  admin.add({
    path: "/reset_counters",
    method: "POST",
    help: "reset all counters to zero",
    handle() {
      store.resetCounters();
      return text(200, "OK\n");
    },
  });
}
