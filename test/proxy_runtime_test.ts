/**
 * `layered_runtime` with static layers: the keys weft has a setting for take effect (here a
 * listener's connection limit, Envoy's `envoy.resource_limits.listener.<name>.connection_limit`),
 * and `/runtime` shows every layer and key in Envoy's format, with the keys weft does not use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { eventually, runWeft, startWeft, writeTempFile } from "./helpers/weft_process.ts";

const RUNTIME = `
layered_runtime:
  layers:
  - name: static_layer_0
    static_layer:
      envoy:
        resource_limits:
          listener:
            edge:
              connection_limit: 1
      health_check: { min_interval: 5 }
  - name: static_layer_1
    static_layer:
      health_check.min_interval: 7
      re2.max_program_size.error_level: 200
`;

function config(runtime = RUNTIME): string {
  return bootstrapYaml({ routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: ok } }`, clusters: [] }) + runtime;
}

/** A connection that has had one response: accepted and counted. */
async function openServed(port: number): Promise<Socket> {
  const s = connect({ port, host: "127.0.0.1" });
  s.on("error", () => {});
  let got = "";
  s.on("data", (c: Buffer) => (got += c.toString()));
  s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  await withTimeout(new Promise<void>((resolve, reject) => {
    s.on("data", () => got.endsWith("ok") && resolve());
    s.on("close", () => reject(new Error(`closed before a response: ${JSON.stringify(got)}`)));
  }), 10_000, "a response");
  return s;
}

test("layered_runtime: a listener's connection_limit key limits it; /runtime lists layers, values and unknown keys as Envoy does", { timeout: 60_000 }, async () => {
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", config())]);
  try {
    const port = weft.listeners.edge!;
    const first = await openServed(port);
    const second = connect({ port, host: "127.0.0.1" });
    second.on("error", () => {});
    await withTimeout(new Promise<void>((r) => second.once("close", () => r())), 10_000, "the second connection to be refused");
    const st = await eventually("the overflow", async () => {
      const st = parseStats(await (await weft.admin("/stats")).text());
      return st[`listener.127.0.0.1_${port}.downstream_cx_overflow`] === 1 ? st : null;
    });
    assert.equal(st[`listener.127.0.0.1_${port}.downstream_cx_active`], 1);
    first.destroy();
    const runtime = await weft.adminJson("/runtime");
    assert.deepEqual(runtime, {
      layers: ["static_layer_0", "static_layer_1"],
      entries: {
        "envoy.resource_limits.listener.edge.connection_limit": { layer_values: ["1", ""], final_value: "1" },
        "health_check.min_interval": { layer_values: ["5", "7"], final_value: "7" },
        "re2.max_program_size.error_level": { layer_values: ["", "200"], final_value: "200" },
      },
      unknown_keys: ["health_check.min_interval", "re2.max_program_size.error_level"],
    });
  } finally {
    await weft.stop();
  }
});

test("layered_runtime: a used key with a bad value, a list value and a disk layer are errors with their place", () => {
  const path = writeTempFile("envoy.yaml", config(`
layered_runtime:
  layers:
  - name: static_layer_0
    static_layer:
      overload: { global_downstream_max_connections: lots }
      some: { list: [1, 2] }
  - name: disk_layer_0
    disk_layer: { symlink_root: /srv/runtime/current, subdirectory: envoy }
`));
  const r = runWeft("proxy", "validate", "-c", path);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split("\n").map((l) => l.slice(path.length + 1));
  assert.deepEqual(lines, [
    "32:54: layered_runtime.layers[0].static_layer.overload.global_downstream_max_connections: must be a positive integer (runtime key overload.global_downstream_max_connections), got \"lots\"",
    "33:21: layered_runtime.layers[0].static_layer.some.list: invalid runtime entry value for \"some.list\": must be a string, number or boolean, got a list",
    "35:5: layered_runtime.layers[1].disk_layer: is not supported yet by weft",
  ]);
});
