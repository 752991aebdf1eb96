import { test } from "node:test";
import assert from "node:assert/strict";
import { authorize, ipInNet } from "./authz.ts";
import type { Authorization, RbacMatch } from "./config.ts";

function match(m: Partial<RbacMatch>): RbacMatch {
  return {
    namespaces: [], notNamespaces: [], serviceAccounts: [], notServiceAccounts: [], principals: [], notPrincipals: [],
    sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
    ...m,
  };
}
function policy(action: "Allow" | "Deny", m: Partial<RbacMatch>, name = "p"): Authorization {
  return { name, namespace: "default", scope: "Namespace", action, rules: [[[match(m)]]], dryRun: false };
}
const conn = { srcIdentity: "spiffe://cluster.local/ns/default/sa/client", srcIp: "127.0.1.2", dstIp: "127.0.1.3", dstPort: 8080 };

test("no policies allow", () => {
  assert.deepEqual(authorize([], conn), { allowed: true, reason: "no_allow_policies" });
});

test("a matching DENY refuses even when an ALLOW matches", () => {
  const allow = policy("Allow", { principals: [{ exact: "cluster.local/ns/default/sa/client" }] }, "allow-client");
  const deny = policy("Deny", { destinationPorts: [8080] }, "no-8080");
  // Each matches on its own...
  assert.deepEqual(authorize([allow], conn), { allowed: true, policy: "default/allow-client", reason: "allowed_by_policy" });
  assert.deepEqual(authorize([deny], conn), { allowed: false, policy: "default/no-8080", reason: "denied_by_policy" });
  // ...and together the DENY decides, in either order.
  for (const policies of [[allow, deny], [deny, allow]]) {
    assert.deepEqual(authorize(policies, conn), { allowed: false, policy: "default/no-8080", reason: "denied_by_policy" });
  }
});

test("ALLOW policies that do not match refuse", () => {
  const v = authorize([policy("Allow", { principals: [{ exact: "cluster.local/ns/default/sa/other" }] })], conn);
  assert.deepEqual(v, { allowed: false, reason: "no_allow_match" });
});

test("ALLOW by principal, namespace, service account, source IP", () => {
  assert.ok(authorize([policy("Allow", { principals: [{ exact: "cluster.local/ns/default/sa/client" }] })], conn).allowed);
  assert.ok(authorize([policy("Allow", { namespaces: [{ exact: "default" }] })], conn).allowed);
  assert.ok(authorize([policy("Allow", { serviceAccounts: [{ namespace: "default", serviceAccount: "client" }] })], conn).allowed);
  assert.ok(authorize([policy("Allow", { sourceIps: [{ address: "127.0.1.0", length: 24 }] })], conn).allowed);
  assert.ok(!authorize([policy("Allow", { sourceIps: [{ address: "127.0.2.0", length: 24 }] })], conn).allowed);
});

test("not_ forms exclude", () => {
  assert.ok(!authorize([policy("Allow", { notDestinationPorts: [8080] })], conn).allowed);
  assert.ok(authorize([policy("Allow", { notDestinationPorts: [9999] })], conn).allowed);
  assert.ok(!authorize([policy("Allow", { notPrincipals: [{ prefix: "cluster.local/ns/default/" }] })], conn).allowed);
});

test("plaintext sources have no principal or namespace", () => {
  const plain = { ...conn, srcIdentity: undefined };
  assert.ok(!authorize([policy("Allow", { namespaces: [{ presence: true }] })], plain).allowed);
  assert.ok(authorize([policy("Allow", { notNamespaces: [{ presence: true }] })], plain).allowed);
});

test("rules: any rule, all clauses, any match; dry-run policies are ignored", () => {
  const p: Authorization = {
    name: "r", namespace: "default", scope: "Namespace", action: "Allow", dryRun: false,
    rules: [[[match({ destinationPorts: [1] }), match({ destinationPorts: [8080] })], [match({ namespaces: [{ exact: "default" }] })]]],
  };
  assert.ok(authorize([p], conn).allowed);
  p.rules[0]!.push([match({ namespaces: [{ exact: "other" }] })]);
  assert.ok(!authorize([p], conn).allowed);
  assert.ok(authorize([{ ...policy("Deny", {}), dryRun: true }], conn).allowed);
});

test("ipInNet handles v4 and v6 prefixes", () => {
  assert.ok(ipInNet("10.1.2.3", { address: "10.0.0.0", length: 8 }));
  assert.ok(!ipInNet("11.1.2.3", { address: "10.0.0.0", length: 8 }));
  assert.ok(ipInNet("127.0.1.9", { address: "127.0.1.9", length: 32 }));
  assert.ok(ipInNet("fd00::1", { address: "fd00::", length: 64 }));
  assert.ok(!ipInNet("fd01::1", { address: "fd00::", length: 16 }));
  assert.ok(!ipInNet("10.0.0.1", { address: "fd00::", length: 0 }));
});
