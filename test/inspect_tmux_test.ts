/**
 * Issue 4, points 2 and 3: the real inspector in a real terminal (tmux) against a real
 * `weft proxy serve --concurrency 4` with held connections: the Workers view shows 4 workers with
 * connections, `2` and `3` show the held connections and their in-flight requests, killing the
 * proxy shows "reconnecting" and a restarted proxy is picked up, and `q` exits 0 with the terminal
 * restored.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { freePort } from "./helpers/ports.ts";
import { eventually, startWeft, weftCommand, writeTempFile } from "./helpers/weft_process.ts";

function tmux(...args: string[]): string {
  return execFileSync("tmux", args, { encoding: "utf8" });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

test("weft inspect in tmux: workers, connections, tasks, reconnect, quit", { timeout: 180_000 }, async () => {
  assert.equal(spawnSync("tmux", ["-V"]).status, 0, "tmux is needed for this test (.ci/run installs it)");
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await startUpstream("held", (req, res) => {
    req.resume();
    void released.then(() => res.end("released"));
  });
  const adminPort = await freePort();
  const config = writeTempFile("envoy.yaml", bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: held, timeout: 0s }`,
    clusters: [{ name: "held", endpoints: [up.port] }],
    flush: "0.5s",
  }).replace("port_value: 0 } }\nstats_flush", `port_value: ${adminPort} } }\nstats_flush`));
  const serve = ["proxy", "serve", "-c", config, "--concurrency", "4"];
  let weft = await startWeft(serve);
  const session = `weft-inspect-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const exitFile = join(mkdtempSync(join(tmpdir(), "weft-tmux-")), "exit");
  const held: RawConnection[] = [];
  try {
    // 40 connections, each with a request the upstream holds: 40 in-flight tasks spread over 4 workers.
    for (let i = 0; i < 40; i++) {
      const c = await RawConnection.open(weft.listeners.edge!);
      c.write(`GET /held/${i} HTTP/1.1\r\nhost: x\r\n\r\n`);
      held.push(c);
    }
    await eventually("all requests upstream", () => up.requests === 40, 10_000);

    const [exe, pre] = weftCommand();
    const inspect = [exe, ...pre, "inspect", weft.adminUrl].map(shellQuote).join(" ");
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", `timeout --foreground 120 ${inspect}; echo $? > ${exitFile}; sleep 60`);
    const screen = () => tmux("capture-pane", "-p", "-t", session);
    let last = "";
    const waitFor = (what: string, check: (s: string) => boolean, timeoutMs = 20_000) =>
      eventually(what, () => {
        last = screen();
        return check(last) ? last : null;
      }, timeoutMs).catch((e) => {
        throw new Error(`${e.message}\nscreen:\n${last}`);
      });

    // Workers view: 4 rows, each worker owning connections (the CONN column), 40 in all once the
    // snapshot that follows the last connection has arrived.
    const connCells = (s: string): number[] => {
      const header = s.split("\n").find((l) => l.includes("STATUS") && l.includes("CONN"));
      if (header === undefined) return [];
      const col = header.indexOf("CONN");
      return [...s.matchAll(/^[› ]\s+([0-3]) running .*$/gm)].map((m) => Number(m[0].slice(col - 2, col + 4).trim()));
    };
    const workers = await waitFor("4 workers with 40 connections", (s) => {
      const cells = connCells(s);
      return cells.length === 4 && cells.reduce((a, b) => a + b, 0) === 40 && s.includes("4 workers") && s.includes("● connected");
    });
    connCells(workers).forEach((n, w) => assert.ok(n > 0, `worker ${w} shows ${n} connections:\n${workers}`));

    // 2: the affinity table lists the held connections by remote port.
    tmux("send-keys", "-t", session, "2");
    const conns = await waitFor("connections view", (s) => s.includes("Affinity imbalance") && s.includes("40 open"));
    // Rows start with the connection id ("1.7"); the header's admin URL is not a row.
    const shown = [...conns.matchAll(/^[› ]\s*\d+\.\d+\s+\d+\s+127\.0\.0\.1:(\d+)/gm)].map((m) => Number(m[1]));
    assert.ok(shown.length >= 10, conns);
    const ports = new Set(held.map((c) => c.localPort));
    for (const p of shown) assert.ok(ports.has(p), `port ${p} is not one of the held connections`);

    // 3: the tasks view shows their 40 requests waiting for the upstream.
    tmux("send-keys", "-t", session, "3");
    const tasks = await waitFor("tasks view", (s) => /Tasks in flight \[(?:1-\d+ of )?40\]/.test(s));
    assert.match(tasks, /waiting_response/);
    assert.match(tasks, /\/held\/\d+/);

    // Kill the proxy: the header says reconnecting; a new proxy on the same admin port is picked up.
    const oldPid = weft.child.pid!;
    await weft.stop("SIGKILL");
    await waitFor("reconnecting", (s) => /reconnecting in/.test(s));
    weft = await startWeft(serve);
    await waitFor("reconnected to the new process", (s) => s.includes("● connected") && s.includes(`pid ${weft.child.pid}`) && !s.includes(`pid ${oldPid}`));

    // q: exit status 0 and the terminal restored (alternate screen off, cursor visible).
    tmux("send-keys", "-t", session, "q");
    await eventually("inspect exited", () => {
      try {
        return readFileSync(exitFile, "utf8").trim() !== "";
      } catch {
        return false;
      }
    }, 15_000);
    assert.equal(readFileSync(exitFile, "utf8").trim(), "0");
    assert.equal(tmux("display-message", "-p", "-t", session, "#{alternate_on} #{cursor_flag}").trim(), "0 1");
  } finally {
    release();
    for (const c of held) c.close();
    spawnSync("tmux", ["kill-session", "-t", session]);
    await weft.stop();
    await up.close();
  }
});
