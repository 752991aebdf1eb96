// Reference HTTP/1.1 server for differential_test.ts, run with the system `node` binary (not Deno or
// Bun, whose node:http is not llhttp). It listens on 127.0.0.1, port 0, prints {"port": N} on one
// line, and answers every request with 200 and a JSON description of what llhttp parsed, in the body
// and (base64) in an `x-parsed` header, so answers to HEAD carry it too. Parse errors get 400 (431 for
// an oversized head) with llhttp's error code and, when the error is in a later pipelined message, the
// description of the first request on the connection (`first`): the test judges first messages only.
// It exits when stdin closes, so it never outlives the test.
import http from "node:http";

const server = http.createServer({
  insecureHTTPParser: false,
  requireHostHeader: true,
  maxHeaderSize: 16 * 1024,
  keepAliveTimeout: 2000,
  headersTimeout: 10_000,
  requestTimeout: 20_000,
}, (req, res) => {
  remember(req);
  let bodyLength = 0;
  req.on("data", (chunk) => {
    bodyLength += chunk.length;
  });
  req.on("end", () => {
    const body = describe(req, bodyLength);
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-parsed": Buffer.from(body).toString("base64"),
      connection: "close",
    });
    res.end(body);
  });
  req.on("error", () => res.destroy());
});

function describe(req, bodyLength) {
  return JSON.stringify({
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
    bodyLength,
  });
}

// The first request seen on each connection. The 'request' event is emitted synchronously from the
// parser when the head is complete, and `req.complete` turns true when llhttp finishes the message, so
// a later parse error belongs to a pipelined message only if the first one is complete by then.
const firstRequest = new WeakMap();
function remember(req) {
  if (!firstRequest.has(req.socket)) firstRequest.set(req.socket, req);
}
function firstComplete(socket) {
  const req = firstRequest.get(socket);
  return req && (req.complete || req.method === "CONNECT" || req.upgrade) ? JSON.parse(describe(req, -1)) : null;
}

// Upgrade and CONNECT requests leave the HTTP parser; describe them without a body length.
function answerRaw(req, socket) {
  remember(req);
  const body = describe(req, -1);
  socket.end(
    `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Parsed: ${Buffer.from(body).toString("base64")}\r\nConnection: close\r\n\r\n${body}`,
  );
}
server.on("upgrade", answerRaw);
server.on("connect", answerRaw);

server.on("clientError", (err, socket) => {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({
    code: err.code ?? "",
    reason: err.reason ?? err.message,
    first: firstComplete(socket),
  });
  const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, node: process.version }) + "\n");
});

process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
