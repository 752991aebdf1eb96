/**
 * The small upstream that the embedded default config routes to (cluster `builtin_echo`,
 * 127.0.0.1:10001), so `weft proxy serve` shows proxying with nothing else running. It runs in a
 * worker of its own: main never serves traffic.
 *
 * @module
 */
import { currentRuntime } from "../runtime/mod.ts";

interface EchoScope {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<{ hostname: string; port: number }>) => void) | null;
}

const scope = globalThis as unknown as EchoScope;
scope.onmessage = async (e) => {
  const runtime = await currentRuntime();
  try {
    // reusePort: a hot-restart child binds it while the parent still serves it.
    const server = await runtime.serveHttp({ ...e.data, reusePort: true }, async (req) => {
      const url = new URL(req.url);
      const body = new Uint8Array(await req.arrayBuffer());
      const lines = [
        "echo from weft's built-in upstream (cluster builtin_echo)",
        `${req.method} ${url.pathname}${url.search}`,
        ...[...req.headers].map(([k, v]) => `${k}: ${v}`),
        `body: ${body.byteLength} bytes`,
        "",
      ];
      return new Response(lines.join("\n"), { headers: { "content-type": "text/plain" } });
    });
    scope.postMessage({ ok: true, port: server.port });
  } catch (err) {
    scope.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
  }
};
