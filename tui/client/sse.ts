/**
 * An incremental parser for `text/event-stream` (the WHATWG server-sent events format) and a reader
 * that feeds it from a `fetch` response body. Works the same on Deno and Bun.
 *
 * @module
 */

/** One dispatched server-sent event. `event` defaults to "message". */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id: string | undefined;
  readonly retry: number | undefined;
}

/**
 * Parses server-sent events from text chunks split anywhere (even inside a CRLF).
 *
 * @example Parse two chunks
 * ```ts
 * const p = new SseParser();
 * p.push("event: snapshot\ndata: {\"seq\"");
 * p.push(":1}\n\n"); // [{ event: "snapshot", data: '{"seq":1}', … }]
 * ```
 */
export class SseParser {
  #buffer = "";
  #data: string[] = [];
  #event = "";
  #id: string | undefined;
  #retry: number | undefined;
  #first = true;

  /** Adds a chunk of text and returns the events it completed. */
  push(chunk: string): SseEvent[] {
    let text = this.#buffer + chunk;
    if (this.#first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#first = false;
    }
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === text.length) break; // a CR at the end may be the first half of CRLF
      this.#line(text.slice(start, i), out);
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.#buffer = text.slice(start);
    return out;
  }

  /** Ends the stream; per the spec an event without its terminating blank line is discarded. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#buffer.endsWith("\r")) this.#line(this.#buffer.slice(0, -1), out);
    this.#buffer = "";
    this.#data = [];
    this.#event = "";
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.#data.length > 0) {
        out.push({ event: this.#event || "message", data: this.#data.join("\n"), id: this.#id, retry: this.#retry });
      }
      this.#data = [];
      this.#event = "";
      return;
    }
    if (line.startsWith(":")) return; // comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.#data.push(value);
        break;
      case "event":
        this.#event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
    }
  }
}

/**
 * Reads a response body to its end, calling `onEvent` for each event and `onActivity` for every
 * chunk (comments included), which lets the caller run an idle timeout.
 *
 * @example Read a stream
 * ```ts
 * const res = await fetch("http://127.0.0.1:9901/events");
 * await readSse(res.body!, (e) => console.log(e.event), () => {});
 * ```
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: SseEvent) => void,
  onActivity: () => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onActivity();
      for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
    }
    for (const e of parser.push(decoder.decode())) onEvent(e);
    for (const e of parser.end()) onEvent(e);
  } finally {
    try {
      await reader.cancel();
    } catch {
      // already errored or closed
    }
    reader.releaseLock();
  }
}
