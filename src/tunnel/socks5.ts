/**
 * SOCKS5 (RFC 1928) server-side message parsing for the outbound listener: no authentication,
 * CONNECT only, IPv4, IPv6 and domain-name addresses. Parsers take the bytes received so far and
 * return `undefined` when more are needed, so the caller can accumulate without copying twice.
 *
 * @example
 * ```ts
 * const g = parseGreeting(buf);           // { methods: [0], consumed: 3 }
 * socket.write(greetingReply(g.methods.includes(NO_AUTH)));
 * const r = parseRequest(rest);           // { command: 1, host: "127.0.1.3", port: 8080, consumed: 10 }
 * socket.write(reply(REP.SUCCEEDED));
 * ```
 *
 * @module
 */

export const VERSION = 5;
export const NO_AUTH = 0;
export const NO_ACCEPTABLE = 0xff;
export const CMD_CONNECT = 1;

/** Reply codes. */
export const REP = {
  SUCCEEDED: 0,
  GENERAL_FAILURE: 1,
  NOT_ALLOWED: 2,
  NETWORK_UNREACHABLE: 3,
  HOST_UNREACHABLE: 4,
  CONNECTION_REFUSED: 5,
  TTL_EXPIRED: 6,
  COMMAND_NOT_SUPPORTED: 7,
  ADDRESS_TYPE_NOT_SUPPORTED: 8,
} as const;

export class Socks5Error extends Error {
  constructor(message: string, readonly rep: number = REP.GENERAL_FAILURE) {
    super(message);
    this.name = "Socks5Error";
  }
}

export interface Greeting {
  methods: number[];
  consumed: number;
}

/** Parses the client greeting (`VER NMETHODS METHODS…`). */
export function parseGreeting(b: Uint8Array): Greeting | undefined {
  if (b.length < 2) return undefined;
  if (b[0] !== VERSION) {
    throw new Socks5Error(
      `Cannot parse SOCKS greeting: version is ${b[0]}, expected 5`,
    );
  }
  const n = b[1]!;
  if (n === 0) {
    throw new Socks5Error("Cannot parse SOCKS greeting: no methods offered");
  }
  if (b.length < 2 + n) return undefined;
  return { methods: Array.from(b.subarray(2, 2 + n)), consumed: 2 + n };
}

/** The method-selection reply. */
export function greetingReply(noAuthOffered: boolean): Uint8Array {
  return Uint8Array.of(VERSION, noAuthOffered ? NO_AUTH : NO_ACCEPTABLE);
}

export interface Request {
  command: number;
  /** Dotted IPv4, IPv6 text, or a domain name. */
  host: string;
  addressType: "ipv4" | "ipv6" | "domain";
  port: number;
  consumed: number;
}

/** Parses a request (`VER CMD RSV ATYP DST.ADDR DST.PORT`). Unsupported commands still parse. */
export function parseRequest(b: Uint8Array): Request | undefined {
  if (b.length < 5) return undefined;
  if (b[0] !== VERSION) {
    throw new Socks5Error(
      `Cannot parse SOCKS request: version is ${b[0]}, expected 5`,
    );
  }
  const command = b[1]!;
  const atyp = b[3]!;
  let off = 4;
  let host: string;
  let addressType: Request["addressType"];
  if (atyp === 1) {
    if (b.length < off + 4 + 2) return undefined;
    host = `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
    off += 4;
    addressType = "ipv4";
  } else if (atyp === 3) {
    const len = b[off]!;
    if (len === 0) {
      throw new Socks5Error(
        "Cannot parse SOCKS request: empty domain name",
        REP.HOST_UNREACHABLE,
      );
    }
    if (b.length < off + 1 + len + 2) return undefined;
    host = new TextDecoder().decode(b.subarray(off + 1, off + 1 + len));
    off += 1 + len;
    addressType = "domain";
  } else if (atyp === 4) {
    if (b.length < off + 16 + 2) return undefined;
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) {
      parts.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
    }
    host = parts.join(":");
    off += 16;
    addressType = "ipv6";
  } else {
    throw new Socks5Error(
      `Cannot parse SOCKS request: address type ${atyp} is not supported`,
      REP.ADDRESS_TYPE_NOT_SUPPORTED,
    );
  }
  const port = (b[off]! << 8) | b[off + 1]!;
  return { command, host, addressType, port, consumed: off + 2 };
}

/** A reply with a bound address of 0.0.0.0:0 (clients ignore it for CONNECT). */
export function reply(rep: number): Uint8Array {
  return Uint8Array.of(VERSION, rep, 0, 1, 0, 0, 0, 0, 0, 0);
}
