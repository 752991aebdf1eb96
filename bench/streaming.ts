/**
 * Streaming throughput: download the backend's 1 GiB /big through a proxy with curl (to
 * /dev/null) and report MB/s (10^6 bytes per second) and whether every byte arrived.
 *
 * @module
 */
import { spawn } from "node:child_process";

export interface StreamResult {
  bytes: number;
  seconds: number;
  mbps: number;
  status: number;
  complete: boolean;
  error: string | null;
}

export function download(url: string, expectBytes: number, timeoutS = 120): Promise<StreamResult> {
  return new Promise((resolve) => {
    const args = ["-s", "-S", "-o", "/dev/null", "--max-time", String(timeoutS), "-w", "%{http_code} %{size_download} %{time_total}", url];
    const child = spawn("curl", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    child.on("error", (e) => resolve({ bytes: 0, seconds: 0, mbps: 0, status: 0, complete: false, error: e.message }));
    child.on("exit", (code) => {
      const [status, size, time] = out.trim().split(" ").map(Number) as [number, number, number];
      const complete = code === 0 && status === 200 && size === expectBytes;
      resolve({
        bytes: size || 0,
        seconds: time || 0,
        mbps: time ? size / time / 1e6 : 0,
        status: status || 0,
        complete,
        error: complete ? null : `curl exit ${code}, status ${status}, ${size} of ${expectBytes} bytes${err ? `: ${err.trim()}` : ""}`,
      });
    });
  });
}
