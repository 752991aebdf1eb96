/**
 * Benchmark backend: on each connection, counts bytes until EOF and answers with the count
 * (`<n>\n`), then closes. A 1-byte request therefore gets a short answer: that is the connection
 * setup probe. Usage: `<runtime> _backend.ts <host> <port>`; prints "listening" when bound.
 */
import net from "node:net";
import process from "node:process";

const [host = "127.0.1.3", port = "9000"] = process.argv.slice(2);
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  let n = 0;
  s.on("error", () => {});
  s.on("data", (d: Uint8Array) => (n += d.length));
  s.on("end", () => s.end(`${n}\n`));
});
server.listen({ host, port: Number(port), backlog: 4096 }, () => console.log("listening"));
