/**
 * Issue 2, point 4: a 1 GiB request body and a 1 GiB response body stream through the proxy with
 * back-pressure both ways: checksums match and the proxy's peak RSS stays under 200 MiB.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { startWeft, writeTempFile } from "./helpers/weft_process.ts";

const GIB = 1024 * 1024 * 1024;
const BLOCK = randomBytes(256 * 1024);
const BLOCKS = GIB / BLOCK.byteLength;

function expectedHash(): string {
  const h = createHash("sha256");
  for (let i = 0; i < BLOCKS; i++) h.update(BLOCK);
  return h.digest("hex");
}

/** Peak resident set size of a process, bytes (Linux VmHWM). */
function peakRss(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : NaN;
}

test("1 GiB up and 1 GiB down stream through with bounded memory", { timeout: 300_000 }, async () => {
  const want = expectedHash();
  const up = await startUpstream("bulk", (req, res) => {
    if (req.method === "POST") {
      const h = createHash("sha256");
      let n = 0;
      req.on("data", (c: Buffer) => {
        h.update(c);
        n += c.byteLength;
      });
      req.on("end", () => res.end(`${n} ${h.digest("hex")}`));
      return;
    }
    res.writeHead(200, { "content-length": String(GIB) });
    let i = 0;
    const pump = () => {
      while (i < BLOCKS) {
        i++;
        if (!res.write(BLOCK)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: bulk, timeout: 0s }`,
    clusters: [{ name: "bulk", endpoints: [up.port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "2"]);
  try {
    const port = weft.listeners.edge!;
    // Upload.
    const uploaded = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/upload", headers: { "content-length": String(GIB) } }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      let i = 0;
      const pump = () => {
        while (i < BLOCKS) {
          i++;
          if (!req.write(BLOCK)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(uploaded, `${GIB} ${want}`);
    // Download.
    const downloaded = await new Promise<[number, string]>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/download" }, (res) => {
        const h = createHash("sha256");
        let n = 0;
        res.on("data", (c: Buffer) => {
          h.update(c);
          n += c.byteLength;
        });
        res.on("end", () => resolve([n, h.digest("hex")]));
        res.on("error", reject);
      }).on("error", reject).end();
    });
    assert.deepEqual(downloaded, [GIB, want]);
    const rss = peakRss(weft.child.pid!);
    assert.ok(rss < 200 * 1024 * 1024, `peak RSS ${Math.round(rss / 1048576)} MiB`);
    console.log(`weft peak RSS over 2 GiB streamed: ${Math.round(rss / 1048576)} MiB`);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});
