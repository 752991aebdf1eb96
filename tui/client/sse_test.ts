import { test } from "node:test";
import assert from "node:assert/strict";
import { readSse, SseParser, type SseEvent } from "./sse.ts";

test("parses events split at every possible point", () => {
  const text = "event: snapshot\r\ndata: {\"seq\":1}\r\n\r\n: keep-alive\n\nevent: snapshot\ndata: {\"seq\":2}\n\n";
  for (let cut = 0; cut <= text.length; cut++) {
    const p = new SseParser();
    const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
    assert.deepEqual(events.map((e) => [e.event, e.data]), [["snapshot", '{"seq":1}'], ["snapshot", '{"seq":2}']], `cut at ${cut}`);
  }
});

test("joins multi-line data, defaults the event name, reads id and retry, skips comments", () => {
  const p = new SseParser();
  const events = p.push("\ufeff: hello\nid: 7\nretry: 1500\ndata: a\ndata:b\n\ndata\n\n");
  assert.deepEqual(events, [
    { event: "message", data: "a\nb", id: "7", retry: 1500 },
    { event: "message", data: "", id: "7", retry: 1500 },
  ]);
});

test("a lone CR ends a line; an event without its blank line is dropped at the end", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("data: x\r\rdata: y\r").map((e) => e.data), ["x"]);
  assert.deepEqual(p.end(), []);
});

test("readSse reads a streaming body and reports activity per chunk", async () => {
  const chunks = ["event: snap", "shot\ndata: 1\n", "\n: ping\n\n", "event: snapshot\ndata: 2\n\n"];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      controller.close();
    },
  });
  const events: SseEvent[] = [];
  let activity = 0;
  await readSse(body, (e) => events.push(e), () => activity++);
  assert.deepEqual(events.map((e) => e.data), ["1", "2"]);
  assert.equal(activity, 4);
});

test("multi-byte characters split across chunks decode intact", async () => {
  const bytes = new TextEncoder().encode("data: main→worker\n\n");
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const b of bytes) controller.enqueue(new Uint8Array([b]));
      controller.close();
    },
  });
  const events: SseEvent[] = [];
  await readSse(body, (e) => events.push(e), () => {});
  assert.equal(events[0]?.data, "main→worker");
});
