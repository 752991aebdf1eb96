/**
 * Helpers shared by the config unit tests (private; not exported from mod.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { isMap, isScalar, isSeq, type Node } from "yaml";

/**
 * Walks a `yaml_fast.ts` tree and the `yaml` package's together: same kinds, scalar values
 * (`Object.is`, so -0 and NaN count), keys, order and start offsets everywhere.
 */
export function assertSameTree(fast: Node | null, full: Node | null, path = "$"): void {
  if (fast === null || full === null) return assert.equal(fast, full, path);
  assert.equal(fast.range?.[0], full.range?.[0], `${path}: start offset`);
  if (isScalar(full)) {
    assert.ok(isScalar(fast), `${path}: scalar`);
    return assert.ok(Object.is(fast.value, full.value), `${path}: value ${String(fast.value)} vs ${String(full.value)}`);
  }
  if (isSeq(full)) {
    assert.ok(isSeq(fast), `${path}: sequence`);
    assert.equal(fast.items.length, full.items.length, `${path}: length`);
    full.items.forEach((item, i) => assertSameTree(fast.items[i] as Node, item as Node, `${path}[${i}]`));
    return;
  }
  assert.ok(isMap(full) && isMap(fast), `${path}: mapping`);
  assert.equal(fast.items.length, full.items.length, `${path}: size`);
  full.items.forEach((pair, i) => {
    const other = fast.items[i]!;
    assertSameTree(other.key as Node, pair.key as Node, `${path}.key#${i}`);
    assertSameTree(other.value as Node, pair.value as Node, `${path}.${String((pair.key as { value: unknown }).value)}`);
  });
}
