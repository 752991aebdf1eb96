/**
 * A minimal HTTP/1.1 client over one raw TCP connection (`node:net`), so tests control exactly how
 * many connections exist and which requests share one. Responses need content-length or chunked.
 *
 * @module
 */
import { connect, type Socket } from "node:net";

export interface Response1 {
  status: number;
  /** The head's field lines as received (latin1), without the status line. */
  fieldLines: string[];
  /** Field values by lower-cased name (the last of repeated names). */
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  localPort = 0;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => {
        const c = new RawConnection(s);
        c.localPort = s.localPort ?? 0;
        resolve(c);
      });
      s.once("error", reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async waitFor(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error("connection closed");
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((r) => this.waiters.push(r)),
      new Promise<void>((_, rej) => (t = setTimeout(() => rej(new Error("response timed out")), timeoutMs))),
    ]).finally(() => clearTimeout(t));
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Send a request and read its response. */
  async request(method: string, path: string, headers: Record<string, string> = {}, body = "", timeoutMs = 10_000): Promise<Response1> {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${headers.host ?? "localhost"}\r\n`;
    for (const [k, v] of Object.entries(headers)) if (k !== "host") head += `${k}: ${v}\r\n`;
    if (body !== "" || method === "POST" || method === "PUT") head += `content-length: ${Buffer.byteLength(body)}\r\n`;
    this.write(head + "\r\n" + body);
    return await this.readResponse(timeoutMs, method === "HEAD");
  }

  /** Read one response (also used after writing raw bytes). */
  async readResponse(timeoutMs = 10_000, headOnly = false): Promise<Response1> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const lines = this.buf.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number(lines[0]!.split(" ")[1]);
        const headers: Record<string, string> = {};
        const fieldLines = lines.slice(1);
        for (const l of fieldLines) {
          const i = l.indexOf(":");
          headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        const rest = this.buf.subarray(end + 4);
        if (headOnly || status === 204 || status === 304 || status < 200) {
          this.buf = rest;
          return { status, fieldLines, headers, body: "" };
        }
        if (headers["content-length"] !== undefined) {
          const len = Number(headers["content-length"]);
          if (rest.byteLength >= len) {
            this.buf = rest.subarray(len);
            return { status, fieldLines, headers, body: rest.subarray(0, len).toString() };
          }
        } else if (headers["transfer-encoding"] === "chunked") {
          const parsed = parseChunked(rest);
          if (parsed) {
            this.buf = rest.subarray(parsed.used);
            return { status, fieldLines, headers, body: parsed.body };
          }
        } else if (this.closed) {
          this.buf = Buffer.alloc(0);
          return { status, fieldLines, headers, body: rest.toString() };
        }
      }
      if (this.closed) throw new Error(`connection closed before a full response (have ${this.buf.byteLength} bytes: ${JSON.stringify(this.buf.toString("latin1").slice(0, 200))})`);
      await this.waitFor(Math.max(1, deadline - Date.now()));
    }
  }

  /** Wait until the peer closes (or time out). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      await this.waitFor(Math.max(1, deadline - Date.now())).catch((e) => {
        if (!this.closed) throw e;
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseChunked(b: Buffer): { body: string; used: number } | null {
  let at = 0;
  const parts: Buffer[] = [];
  for (;;) {
    const eol = b.indexOf("\r\n", at);
    if (eol < 0) return null;
    const size = parseInt(b.subarray(at, eol).toString("latin1"), 16);
    at = eol + 2;
    if (size === 0) {
      const end = b.indexOf("\r\n", at);
      if (end < 0) return null;
      return { body: Buffer.concat(parts).toString(), used: end + 2 };
    }
    if (b.byteLength < at + size + 2) return null;
    parts.push(b.subarray(at, at + size));
    at += size + 2;
  }
}
