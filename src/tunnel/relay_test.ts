import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { relay } from "./relay.ts";

test("relays both ways with counts, half-close and initial bytes", async () => {
  // A server that answers "ok:<bytes received>" after the client half-closes.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on("data", (d) => (n += d.length));
    s.on("end", () => s.end(`ok:${n}`));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  let relayed!: (r: { up: number; down: number }) => void;
  const result = new Promise<{ up: number; down: number }>((r) => (relayed = r));
  const front = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      void relay(down, up, {}, new TextEncoder().encode("pre")).then(relayed);
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const client = net.connect({ host: "127.0.0.1", port: (front.address() as net.AddressInfo).port, allowHalfOpen: true });
  const payload = Buffer.alloc(1 << 20, 7);
  client.end(payload);
  let answer = "";
  for await (const c of client) answer += c;
  assert.equal(answer, `ok:${payload.length + 3}`);
  assert.deepEqual(await result, { up: payload.length + 3, down: answer.length });
  front.close();
  server.close();
});
