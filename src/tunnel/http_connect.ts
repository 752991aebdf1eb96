/**
 * Parsing of an explicit HTTP/1.1 `CONNECT host:port` request head for the outbound listener
 * (transparent capture needs privileges we do not assume). Strict: CRLF line endings, token header
 * names, a bounded head.
 *
 * @example
 * ```ts
 * const req = parseConnectHead(buf); // undefined until "\r\n\r\n" arrives
 * // { host: "127.0.1.3", port: 8080, headers: {...}, consumed: 41 }
 * socket.write(CONNECT_OK);
 * ```
 *
 * @module
 */

import { statusText } from "../edge/http1/encode.ts";

/** Largest accepted request head. */
export const MAX_HEAD_BYTES = 8192;

export const CONNECT_OK = "HTTP/1.1 200 Connection established\r\n\r\n";

export class ConnectError extends Error {
  constructor(message: string, readonly status: number = 400) {
    super(message);
    this.name = "ConnectError";
  }
}

export interface ConnectRequest {
  host: string;
  port: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  consumed: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function findHeadEnd(b: Uint8Array): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

/** Parses a CONNECT request head; undefined until the whole head has arrived. */
export function parseConnectHead(b: Uint8Array): ConnectRequest | undefined {
  const end = findHeadEnd(b);
  if (end < 0) {
    if (b.length > MAX_HEAD_BYTES) {
      throw new ConnectError(
        "Cannot parse CONNECT request: head exceeds 8192 bytes",
        431,
      );
    }
    return undefined;
  }
  if (end > MAX_HEAD_BYTES) {
    throw new ConnectError(
      "Cannot parse CONNECT request: head exceeds 8192 bytes",
      431,
    );
  }
  const text = new TextDecoder("latin1").decode(b.subarray(0, end - 4));
  const lines = text.split("\r\n");
  for (const l of lines) {
    if (l.includes("\n") || l.includes("\r")) {
      throw new ConnectError("Cannot parse CONNECT request: bare CR or LF");
    }
  }
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]!);
  if (!m) {
    throw new ConnectError(
      `Cannot parse CONNECT request: bad request line ${
        JSON.stringify(lines[0]!.slice(0, 80))
      }`,
    );
  }
  if (m[1] !== "CONNECT") {
    throw new ConnectError(
      `Cannot parse CONNECT request: method is ${
        m[1]
      }, only CONNECT is supported`,
      405,
    );
  }
  const target = m[2]!;
  const hp = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]/]+)):(\d{1,5})$/.exec(target);
  if (!hp) {
    throw new ConnectError(
      `Cannot parse CONNECT request: target ${
        JSON.stringify(target)
      } is not host:port`,
    );
  }
  const port = Number(hp[3]);
  if (port < 1 || port > 65535) {
    throw new ConnectError(
      `Cannot parse CONNECT request: port ${port} out of range`,
    );
  }
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    if (c <= 0) {
      throw new ConnectError(
        `Cannot parse CONNECT request: bad header line ${
          JSON.stringify(l.slice(0, 80))
        }`,
      );
    }
    const name = l.slice(0, c);
    if (!TOKEN.test(name)) {
      throw new ConnectError(
        `Cannot parse CONNECT request: bad header name ${JSON.stringify(name)}`,
      );
    }
    const value = l.slice(c + 1).trim();
    // deno-lint-ignore no-control-regex -- rejecting control characters is the point
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new ConnectError(
        `Cannot parse CONNECT request: control character in ${name}`,
      );
    }
    headers[name.toLowerCase()] = value;
  }
  return { host: hp[1] ?? hp[2]!, port, headers, consumed: end };
}

/**
 * A minimal error response with the status's own reason phrase (the edge codec's table); a 405
 * names the one method these listeners take (RFC 9110 §15.5.6 requires `Allow`).
 */
export function errorResponse(status: number): string {
  const allow = status === 405 ? "allow: CONNECT\r\n" : "";
  return `HTTP/1.1 ${status} ${statusText(status)}\r\n${allow}content-length: 0\r\nconnection: close\r\n\r\n`;
}
