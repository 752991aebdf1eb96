/** A port that was free a moment ago on 127.0.0.1 (for tests where two processes must share it). */
import process from "node:process";
import { spawn } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { withTimeout } from "./timeout.ts";
import { IS_BUN } from "./weft_process.ts";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A loopback port whose connects never complete: a Deno process listens and never accepts (Bun's
 * and node's listeners accept by themselves), and its accept queue is filled, after which the
 * kernel drops new SYNs. Full once a connect has not completed in 300 ms (on loopback a connect
 * takes well under 1 ms, and a dropped SYN is resent after 1 s).
 */
export async function portThatNeverAccepts(): Promise<{ port: number; close(): void }> {
  const deno = IS_BUN ? "deno" : process.execPath;
  const child = spawn(deno, ["eval", "const l = Deno.listen({ hostname: '127.0.0.1', port: 0 }); console.log(l.addr.port); setInterval(() => {}, 1 << 30);"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await withTimeout(new Promise<number>((resolve) => child.stdout!.once("data", (d) => resolve(Number(String(d).trim())))), 20_000, "the never-accepting listener's port");
  const queued: Socket[] = [];
  const close = () => {
    for (const s of queued) s.destroy();
    child.kill("SIGKILL");
  };
  for (let i = 0; i < 10_000; i++) {
    const s = connect({ port, host: "127.0.0.1" });
    s.on("error", () => {});
    queued.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 300);
      s.once("connect", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!connected) return { port, close };
  }
  close();
  throw new Error(`the accept queue of port ${port} never filled`);
}
