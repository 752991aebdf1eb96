/**
 * The workload certificates a node holds: one per identity of the workloads it hosts, minted from
 * the CA, rotated at half life, dropped when no hosted workload needs it any more.
 *
 * @example
 * ```ts
 * const certs = new CertManager(ca, { lifetimeMs: 24 * 3600_000, onChange: (m) => post(m) });
 * await certs.ensure(["spiffe://cluster.local/ns/default/sa/web"]);
 * certs.dump(); // for /config_dump
 * ```
 *
 * @module
 */

import { type CertificateAuthority, DEFAULT_CERT_LIFETIME_MS } from "../tls/ca.ts";
import type { CertData, CertMap } from "./protocol.ts";

/** When a certificate should be replaced: at half of its lifetime, as ztunnel rotates. */
export function rotationTime(
  cert: { notBefore: number; notAfter: number },
): number {
  return cert.notBefore + (cert.notAfter - cert.notBefore) / 2;
}

export interface CertDump {
  identity: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  rotatesAt: string;
  expiresInS: number;
  state: "Available";
}

export class CertManager {
  readonly #ca: CertificateAuthority;
  readonly #lifetimeMs: number;
  readonly #onChange: (certs: CertMap) => void;
  #certs: CertMap = {};
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #wanted = new Set<string>();

  constructor(ca: CertificateAuthority, opts: { lifetimeMs?: number; onChange?: (certs: CertMap) => void } = {}) {
    this.#ca = ca;
    this.#lifetimeMs = opts.lifetimeMs ?? DEFAULT_CERT_LIFETIME_MS;
    this.#onChange = opts.onChange ?? (() => {});
  }

  get certs(): CertMap {
    return this.#certs;
  }

  get caPem(): string {
    return this.#ca.certPem;
  }

  /** Makes sure exactly `identities` have certificates; returns whether anything changed. */
  async ensure(identities: Iterable<string>): Promise<boolean> {
    this.#wanted = new Set(identities);
    let changed = false;
    const next: CertMap = {};
    for (const id of this.#wanted) {
      const have = this.#certs[id];
      if (have) next[id] = have;
      else {
        next[id] = await this.#mint(id);
        changed = true;
      }
    }
    for (const id of Object.keys(this.#certs)) {
      if (!this.#wanted.has(id)) {
        clearTimeout(this.#timers.get(id));
        this.#timers.delete(id);
        changed = true;
      }
    }
    this.#certs = next;
    return changed;
  }

  async #mint(id: string): Promise<CertData> {
    const c = await this.#ca.mint(id, { lifetimeMs: this.#lifetimeMs });
    const data: CertData = {
      identity: id,
      certPem: c.certPem,
      keyPem: c.keyPem,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      serial: c.serial,
    };
    this.#schedule(data);
    return data;
  }

  #schedule(c: CertData): void {
    clearTimeout(this.#timers.get(c.identity));
    const delay = Math.max(1000, rotationTime(c) - Date.now());
    const t = setTimeout(() => void this.#rotate(c.identity), Math.min(delay, 2 ** 31 - 1));
    (t as { unref?: () => void }).unref?.();
    this.#timers.set(c.identity, t);
  }

  async #rotate(id: string): Promise<void> {
    if (!this.#wanted.has(id)) return;
    try {
      const c = await this.#mint(id);
      this.#certs = { ...this.#certs, [id]: c };
      this.#onChange(this.#certs);
    } catch {
      // Retry in a minute; the current certificate is still valid until notAfter.
      const t = setTimeout(() => void this.#rotate(id), 60_000);
      (t as { unref?: () => void }).unref?.();
      this.#timers.set(id, t);
    }
  }

  dump(now = Date.now()): CertDump[] {
    return Object.values(this.#certs).map((c) => ({
      identity: c.identity,
      serial: c.serial,
      notBefore: new Date(c.notBefore).toISOString(),
      notAfter: new Date(c.notAfter).toISOString(),
      rotatesAt: new Date(rotationTime(c)).toISOString(),
      expiresInS: Math.round((c.notAfter - now) / 1000),
      state: "Available" as const,
    }));
  }

  stop(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
