/**
 * A development certificate authority: a root key and certificate kept in a directory
 * (`ca-key.pem`, `ca-cert.pem`), and short-lived certificates minted from it whose only name is a
 * SPIFFE URI (`spiffe://<trust-domain>/ns/<ns>/sa/<sa>`), as Istio's CA issues them. The tunnel
 * mints its workload certificates here; tests of any TLS listener can mint theirs.
 *
 * Everything is ECDSA P-256 over WebCrypto, built with `@peculiar/x509` (no hand-written ASN.1).
 *
 * @example Initialise, load and mint
 * ```ts
 * await initCa("./ca");
 * const ca = await loadCa("./ca");
 * const cert = await ca.mint("spiffe://cluster.local/ns/default/sa/web");
 * // cert.certPem, cert.keyPem, cert.notAfter
 * ```
 *
 * @module
 */

import "./_reflect.ts";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Default lifetime of a workload certificate (ztunnel's default: 24 hours). */
export const DEFAULT_CERT_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Default lifetime of a development root (10 years). */
export const DEFAULT_ROOT_LIFETIME_MS = 10 * 365 * 24 * 60 * 60 * 1000;
export const CA_KEY_FILE = "ca-key.pem";
export const CA_CERT_FILE = "ca-cert.pem";

// Loaded after the Reflect shim: a static import is linked (and, on Bun, evaluated) first.
const x509: typeof import("@peculiar/x509") = await import("@peculiar/x509");

const ALG: EcKeyGenParams & EcdsaParams = {
  name: "ECDSA",
  namedCurve: "P-256",
  hash: "SHA-256",
};

x509.cryptoProvider.set(globalThis.crypto);

/** A minted workload certificate with its private key, both PEM. */
export interface WorkloadCert {
  /** The SPIFFE id the certificate names. */
  identity: string;
  certPem: string;
  keyPem: string;
  /** Epoch milliseconds. */
  notBefore: number;
  notAfter: number;
  serial: string;
}

/** A loaded root: mints workload certificates. */
export interface CertificateAuthority {
  /** The root certificate, PEM: the trust anchor every tunnel verifies peers against. */
  readonly certPem: string;
  readonly notAfter: number;
  /** Mints a certificate for `identity` (a `spiffe://` URI) valid from now (less a minute of skew). */
  mint(
    identity: string,
    opts?: { lifetimeMs?: number; now?: number },
  ): Promise<WorkloadCert>;
}

function toPem(der: ArrayBuffer, label: string): string {
  return x509.PemConverter.encode(der, label);
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Creates a development root CA in `dir` (`ca-key.pem`, `ca-cert.pem`).
 * Refuses to overwrite an existing one unless `force`.
 */
export async function initCa(
  dir: string,
  opts: { force?: boolean; lifetimeMs?: number; commonName?: string } = {},
): Promise<{ keyPath: string; certPath: string }> {
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  if (!opts.force && await exists(keyPath)) {
    throw new Error(
      `Cannot initialise CA in ${dir}: ${keyPath} already exists (use --force to replace it)`,
    );
  }
  await mkdir(dir, { recursive: true });
  const keys = await crypto.subtle.generateKey(ALG, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${opts.commonName ?? "weft development root"}, O=weft`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.lifetimeMs ?? DEFAULT_ROOT_LIFETIME_MS)),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyDer = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  await writeFile(keyPath, toPem(keyDer, "PRIVATE KEY"), { mode: 0o600 });
  await writeFile(certPath, cert.toString("pem") + "\n");
  return { keyPath, certPath };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Loads the root CA kept in `dir` by {@link initCa}. */
export async function loadCa(dir: string): Promise<CertificateAuthority> {
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  let keyPem: string, certPem: string;
  try {
    [keyPem, certPem] = await Promise.all([
      readFile(keyPath, "utf8"),
      readFile(certPath, "utf8"),
    ]);
  } catch (e) {
    throw new Error(
      `Cannot load CA from ${dir}: ${
        (e as Error).message
      } (create one with "weft tunnel ca init --dir ${dir}")`,
    );
  }
  return await caFromPem(keyPem, certPem);
}

/** Builds a {@link CertificateAuthority} from PEM text. */
export async function caFromPem(
  keyPem: string,
  certPem: string,
): Promise<CertificateAuthority> {
  const caCert = new x509.X509Certificate(certPem);
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(keyPem),
    ALG,
    false,
    ["sign"],
  );
  const caPublic = await caCert.publicKey.export(ALG, ["verify"]);
  const aki = await x509.AuthorityKeyIdentifierExtension.create(caPublic);
  const pem = caCert.toString("pem") + "\n";
  return {
    certPem: pem,
    notAfter: caCert.notAfter.getTime(),
    async mint(identity, opts = {}) {
      if (!identity.startsWith("spiffe://")) {
        throw new Error(
          `Cannot mint a certificate for ${identity}: not a spiffe:// URI`,
        );
      }
      const now = opts.now ?? Date.now();
      const lifetime = opts.lifetimeMs ?? DEFAULT_CERT_LIFETIME_MS;
      const keys = await crypto.subtle.generateKey(ALG, true, [
        "sign",
        "verify",
      ]) as CryptoKeyPair;
      const serial = randomSerial();
      const notBefore = now - 60_000;
      const notAfter = Math.min(now + lifetime, caCert.notAfter.getTime());
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: "O=weft",
        issuer: caCert.subject,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey: caKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature |
              x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          new x509.ExtendedKeyUsageExtension(
            [
              x509.ExtendedKeyUsage.serverAuth,
              x509.ExtendedKeyUsage.clientAuth,
            ],
            false,
          ),
          new x509.SubjectAlternativeNameExtension([{
            type: "url",
            value: identity,
          }], true),
          aki,
        ],
      });
      const keyDer = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
      return {
        identity,
        certPem: cert.toString("pem") + "\n",
        keyPem: toPem(keyDer, "PRIVATE KEY"),
        notBefore,
        notAfter,
        serial,
      };
    },
  };
}
