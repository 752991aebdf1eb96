import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster, Endpoint } from "../config/types.ts";
import { DnsRefresher, resolveEndpoints } from "./dns.ts";

function cluster(type: Cluster["type"], names: string[]): Cluster {
  return {
    name: "c",
    type,
    connectTimeoutMs: 1000,
    lbPolicy: "ROUND_ROBIN",
    dnsRefreshRateMs: 5000,
    endpoints: names.map((address) => ({ address: { address, port: 80 }, weight: 1 })),
  };
}

const addrs = (e: Endpoint[]) => e.map((x) => `${x.address.address}:${x.address.port}`);

test("STRICT_DNS takes every address, LOGICAL_DNS the first, IPs pass through", async () => {
  const resolve = (h: string) => Promise.resolve(h === "svc" ? ["10.0.0.1", "10.0.0.2"] : []);
  assert.deepEqual(addrs(await resolveEndpoints(cluster("STRICT_DNS", ["svc", "10.9.9.9"]), resolve)), ["10.0.0.1:80", "10.0.0.2:80", "10.9.9.9:80"]);
  assert.deepEqual(addrs(await resolveEndpoints(cluster("LOGICAL_DNS", ["svc"]), resolve)), ["10.0.0.1:80"]);
});

test("re-resolves on dns_refresh_rate, keeps the last answer when a lookup fails", async () => {
  let answer: string[] | null = ["10.0.0.1"];
  let lookups = 0;
  const dns = new DnsRefresher(() => {
    lookups++;
    return answer === null ? Promise.reject(new Error("SERVFAIL")) : Promise.resolve(answer);
  });
  const c = cluster("STRICT_DNS", ["svc"]);
  const endpoints = new Map<string, Endpoint[]>([["c", [{ address: { address: "10.0.0.1", port: 80 }, weight: 1 }]]]);
  dns.resolved("c", 0);
  assert.equal(await dns.refresh([c], endpoints, 4999), false);
  assert.equal(lookups, 0);
  assert.equal(await dns.refresh([c], endpoints, 5000), false);
  assert.equal(lookups, 1);
  answer = ["10.0.0.2", "10.0.0.3"];
  assert.equal(await dns.refresh([c], endpoints, 9000), false);
  assert.equal(await dns.refresh([c], endpoints, 10_000), true);
  assert.deepEqual(addrs(endpoints.get("c")!), ["10.0.0.2:80", "10.0.0.3:80"]);
  answer = null;
  assert.equal(await dns.refresh([c], endpoints, 15_000), false);
  assert.deepEqual(addrs(endpoints.get("c")!), ["10.0.0.2:80", "10.0.0.3:80"]);
});
