/**
 * A minimal `Reflect` metadata shim (the part of the `reflect-metadata` API that tsyringe, used by
 * `@peculiar/x509`, calls). Import it before `@peculiar/x509`; it installs nothing when a real
 * polyfill is already present.
 *
 * @module
 */

type Target = object;
const store = new WeakMap<
  Target,
  Map<string | symbol | undefined, Map<unknown, unknown>>
>();

function table(
  target: Target,
  property: string | symbol | undefined,
  create: boolean,
) {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    byProp = new Map();
    store.set(target, byProp);
  }
  let meta = byProp.get(property);
  if (!meta && create) {
    meta = new Map();
    byProp.set(property, meta);
  }
  return meta;
}

function getOwnMetadata(
  key: unknown,
  target: Target,
  property?: string | symbol,
): unknown {
  return table(target, property, false)?.get(key);
}

function getMetadata(
  key: unknown,
  target: Target,
  property?: string | symbol,
): unknown {
  for (let t: Target | null = target; t; t = Object.getPrototypeOf(t)) {
    const m = table(t, property, false);
    if (m?.has(key)) return m.get(key);
  }
  return undefined;
}

function defineMetadata(
  key: unknown,
  value: unknown,
  target: Target,
  property?: string | symbol,
) {
  table(target, property, true)!.set(key, value);
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== "function") {
  Object.assign(R, {
    getMetadata,
    getOwnMetadata,
    defineMetadata,
    hasMetadata: (k: unknown, t: Target, p?: string | symbol) =>
      getMetadata(k, t, p) !== undefined,
    hasOwnMetadata: (k: unknown, t: Target, p?: string | symbol) =>
      table(t, p, false)?.has(k) ?? false,
    metadata: (k: unknown, v: unknown) => (t: Target, p?: string | symbol) =>
      defineMetadata(k, v, t, p),
  });
}
