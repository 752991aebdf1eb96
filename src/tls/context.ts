/**
 * Mutual TLS 1.3 for `node:tls`: the key material a side presents and trusts, and the server and
 * client options built from it (client certificates requested and verified against the root; the
 * server's certificate checked for one of the expected URI SANs instead of a host name).
 *
 * @example
 * ```ts
 * const material = { key: keyPem, cert: certPem, ca: rootPem };
 * const server = tls.createServer(mutualTlsServerOptions(material, { alpnProtocols: ["h2"] }));
 * const socket = tls.connect(mutualTlsClientOptions(material, {
 *   host: "127.0.1.3", port: 15008, alpnProtocols: ["h2"], peerUriSans: ["spiffe://cluster.local/ns/a/sa/b"],
 * }));
 * ```
 *
 * @module
 */

import net from "node:net";
import type tls from "node:tls";
import { uriSans } from "./identity.ts";

/**
 * TLS 1.3 suites in preference order: AES-128-GCM first (fastest with AES-NI; Deno's default pick
 * was measurably slower on bulk streams), then the other two standard suites.
 */
export const TLS13_CIPHERS = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/** What one side of a mutual TLS connection presents and trusts, all PEM. */
export interface TlsMaterial {
  key: string;
  cert: string;
  /** The root(s) peers must chain to. */
  ca: string;
}

/**
 * Server options: TLS 1.3 only, {@link TLS13_CIPHERS} in our order, and a client certificate
 * required and verified against `material.ca` (`requestCert` + `rejectUnauthorized`).
 */
export function mutualTlsServerOptions(
  material: TlsMaterial,
  opts: { alpnProtocols?: string[] } = {},
): tls.TlsOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    ciphers: TLS13_CIPHERS,
    honorCipherOrder: true,
    ...(opts.alpnProtocols ? { ALPNProtocols: opts.alpnProtocols } : {}),
  };
}

/** Where a mutual TLS client connects, and whom it expects to find there. */
export interface MutualTlsClientTarget {
  host: string;
  port: number;
  /** The local address to connect from. */
  localAddress?: string;
  alpnProtocols?: string[];
  /**
   * The URI SANs the server's certificate may carry (SPIFFE ids, say), one of which it must; the host
   * name is then not checked. Without them, Node checks the host name as usual; an empty list
   * accepts no server.
   */
  peerUriSans?: readonly string[];
}

/**
 * Client options: TLS 1.3 only, {@link TLS13_CIPHERS}, our certificate from `material` (none when
 * undefined), the server verified against `material.ca` and, with `peerUriSan`, by its URI SAN.
 * SNI is sent only for a host name, never for an IP address (RFC 6066 §3).
 */
export function mutualTlsClientOptions(
  material: TlsMaterial | undefined,
  target: MutualTlsClientTarget,
): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    host: target.host,
    port: target.port,
    localAddress: target.localAddress,
    key: material?.key,
    cert: material?.cert,
    ca: material?.ca,
    minVersion: "TLSv1.3",
    ciphers: TLS13_CIPHERS,
    servername: net.isIP(target.host) ? undefined : target.host,
    ...(target.alpnProtocols ? { ALPNProtocols: target.alpnProtocols } : {}),
  } as tls.ConnectionOptions;
  const accepted = target.peerUriSans;
  if (accepted !== undefined) {
    options.checkServerIdentity = (_host: string, cert: tls.PeerCertificate) => {
      const ids = uriSans(cert.subjectaltname);
      if (ids.some((id) => accepted.includes(id))) return undefined;
      const expected = accepted.length === 1
        ? `is not ${accepted[0]}`
        : `is none of ${accepted.join(", ") || "(no accepted identity)"}`;
      return new Error(`server identity ${ids.join(",") || "(none)"} ${expected}`);
    };
  }
  return options;
}
