/**
 * Responses weft makes itself (Envoy's "local replies"): errors with Envoy's status codes and bodies,
 * direct_response routes and redirects.
 *
 * @example
 * ```ts
 * socket.write(localReply(503, "no healthy upstream", { close: false, server: "weft" }));
 * ```
 * @module
 */
import { statusText } from "./http1/mod.ts";

const encoder = new TextEncoder();
let dateSecond = 0;
let dateValue = "";

/** The Date header value, recomputed at most once a second. */
export function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

export interface LocalReplyOptions {
  close: boolean;
  server: string;
  /** Extra `[name, value, …]` headers (location for redirects). */
  headers?: string[];
  /** HEAD: send the head only. */
  headOnly?: boolean;
  contentType?: string;
}

/** Bodies Envoy answers with, reused by name so tests and docs agree. */
export const ENVOY_BODIES = {
  noHealthyUpstream: "no healthy upstream",
  upstreamTimeout: "upstream request timeout",
  connectFailure: "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
  connectTimeout: "upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
  connectionTermination: "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
  protocolError: "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
} as const;

export function localReply(status: number, body: string | null, options: LocalReplyOptions): Uint8Array {
  const bodyBytes = body === null || body === "" ? null : encoder.encode(body);
  let head = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
  if (bodyBytes !== null) {
    head += `content-length: ${bodyBytes.byteLength}\r\ncontent-type: ${options.contentType ?? "text/plain"}\r\n`;
  } else if (status !== 204 && status !== 304 && status >= 200) {
    head += "content-length: 0\r\n";
  }
  const extra = options.headers;
  if (extra) for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
  head += `date: ${httpDate()}\r\nserver: ${options.server}\r\n`;
  if (options.close) head += "connection: close\r\n";
  head += "\r\n";
  const headBytes = encoder.encode(head);
  if (bodyBytes === null || options.headOnly) return headBytes;
  const out = new Uint8Array(headBytes.byteLength + bodyBytes.byteLength);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.byteLength);
  return out;
}
