/**
 * Plain admin API requests (for `/config_dump`, which is not part of the event stream).
 *
 * @module
 */

import { adminEndpoint, adminHeaders, describeError, HttpStatusError } from "./url.ts";

/**
 * GETs `<base><path>` and parses the JSON body.
 *
 * @example
 * ```ts
 * const dump = await fetchJson("http://127.0.0.1:9901", "/config_dump", undefined);
 * ```
 */
export async function fetchJson(
  base: string,
  path: string,
  token: string | undefined,
  options: { readonly timeoutMs?: number } = {},
): Promise<unknown> {
  const url = adminEndpoint(base, path);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: adminHeaders(token, "application/json"),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (e) {
    throw new Error(`Cannot reach ${url}: ${describeError(e)}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new HttpStatusError(res.status, res.statusText, url);
  }
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot parse JSON from ${url}: ${describeError(e)}`);
  }
}
