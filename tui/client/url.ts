/**
 * Admin URL handling shared by the live source and the one-shot HTTP calls.
 *
 * @module
 */

/** Where `weft inspect` attaches when no URL is given (Envoy's admin port). */
export const DEFAULT_ADMIN_URL = "http://127.0.0.1:9901";

/**
 * Normalises a user-given admin address: adds "http://" when no scheme is given and drops a trailing
 * slash. Throws on anything that is not an http(s) URL.
 *
 * @example Accept a bare host:port
 * ```ts
 * normalizeAdminUrl("10.0.0.5:9901"); // "http://10.0.0.5:9901"
 * ```
 */
export function normalizeAdminUrl(input: string | undefined): string {
  const raw = (input ?? DEFAULT_ADMIN_URL).trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`Cannot parse admin URL "${raw}": expected e.g. http://127.0.0.1:9901`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Cannot use admin URL "${raw}": the scheme must be http or https, not ${url.protocol}`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Joins the base admin URL and a path such as "/events". */
export function adminEndpoint(base: string, path: string): string {
  return base.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

/** Request headers for the admin API, with the bearer token when one is configured. */
export function adminHeaders(token: string | undefined, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept };
  if (token) headers["authorization"] = `Bearer ${token}`;
  return headers;
}

/**
 * A short reason for a failed request, from a fetch error (Deno and Bun word these differently, and
 * Deno puts the detail in `cause`) or an HTTP status.
 *
 * @example
 * ```ts
 * describeError(new TypeError("fetch failed", { cause: new Error("… Connection refused (os error 111)") }));
 * // "connection refused"
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof HttpStatusError) return error.message;
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const causeMessage = cause instanceof Error ? cause.message : undefined;
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined;
  const all = [error.name, error.message, causeMessage, code].filter(Boolean).join(" ");
  if (/ECONNREFUSED|connection refused|unable to connect/i.test(all)) return "connection refused";
  if (/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|getaddrinfo/i.test(all)) return "cannot resolve the host";
  if (/ECONNRESET|connection reset/i.test(all)) return "connection reset";
  if (/TimeoutError|timed out/i.test(all)) return "timed out";
  return causeMessage ?? error.message;
}

/** A non-2xx answer from the admin API. */
export class HttpStatusError extends Error {
  constructor(readonly status: number, statusText: string, readonly url: string) {
    const hint = status === 401 || status === 403 ? " (pass --admin-token or set WEFT_ADMIN_TOKEN)" : "";
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ""} from ${url}${hint}`);
    this.name = "HttpStatusError";
  }
}
