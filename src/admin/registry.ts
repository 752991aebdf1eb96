/**
 * The admin endpoint as a registry of handlers (ztunnel's admin.rs): each subsystem adds its own
 * paths, and the core is a web-standard `Request → Response` function, testable without a socket.
 * Mutations are POST only (405 otherwise); an optional bearer token guards every path. Without a
 * token, a state-changing request a browser sent from another site is refused (403), so a web page
 * cannot POST to a local admin port; reads, and clients that send no `Origin` (curl), still pass.
 *
 * @example
 * ```ts
 * const admin = new AdminRegistry({ token: null });
 * admin.add({ path: "/ready", help: "print server state", handle: () => new Response("LIVE\n") });
 * await admin.handle(new Request("http://x/ready"));
 * ```
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

export interface AdminHandler {
  path: string;
  /** GET for reads (HEAD too), POST for anything that changes state. */
  method?: "GET" | "POST";
  help: string;
  /** Hidden handlers work but are not listed (test hooks). */
  hidden?: boolean;
  handle(req: Request, url: URL): Response | Promise<Response>;
}

export class AdminRegistry {
  private handlers = new Map<string, AdminHandler>();
  /** The expected `Authorization` value's digest; null when admin has no token. */
  private authorizationDigest: Buffer | null;

  constructor(options: { token: string | null }) {
    this.authorizationDigest = options.token === null ? null : digest(`Bearer ${options.token}`);
    this.add({ path: "/", help: "print this help page", handle: () => this.helpPage() });
    this.add({ path: "/help", help: "print this help page", handle: () => this.helpPage() });
  }

  add(handler: AdminHandler): void {
    if (this.handlers.has(handler.path) && handler.path !== "/" && handler.path !== "/help") {
      throw new Error(`admin path ${handler.path} is registered twice`);
    }
    this.handlers.set(handler.path, handler);
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (this.authorizationDigest !== null) {
      // Digests of equal length, compared in constant time: the time taken says nothing of the token.
      if (!timingSafeEqual(digest(req.headers.get("authorization") ?? ""), this.authorizationDigest)) {
        return text(401, "unauthorized: this admin endpoint requires 'Authorization: Bearer <token>'\n");
      }
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      const from = crossSiteSender(req, url);
      if (from !== null) {
        return text(
          403,
          `refused: a ${req.method} from another site (${from}); without --admin-token, admin changes state only for requests from its own origin or from clients that send no Origin (curl)\n`,
        );
      }
    }
    const handler = this.handlers.get(url.pathname);
    if (handler === undefined) return text(404, `invalid path: ${url.pathname}\nsee /help for the list of paths\n`);
    const method = handler.method ?? "GET";
    const m = req.method === "HEAD" ? "GET" : req.method;
    if (m !== method) {
      return text(405, `${url.pathname} requires ${method}${method === "POST" ? " (it changes state)" : ""}; got ${req.method}\n`, {
        allow: method,
      });
    }
    try {
      return await handler.handle(req, url);
    } catch (e) {
      return text(500, `${url.pathname} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  private helpPage(): Response {
    const rows = [...this.handlers.values()]
      .filter((h) => !h.hidden && h.path !== "/")
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((h) => `  ${h.path}${h.method === "POST" ? " (POST)" : ""}: ${h.help}`);
    return text(200, `admin commands are:\n${rows.join("\n")}\n`);
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * The header that shows a browser sent `req` from a page of another site, or null: `Sec-Fetch-Site`
 * `cross-site` or `same-site` (another port or subdomain is another origin), or an `Origin` that is
 * not the admin endpoint's own (`null` included).
 */
function crossSiteSender(req: Request, url: URL): string | null {
  const site = req.headers.get("sec-fetch-site");
  if (site === "cross-site" || site === "same-site") return `Sec-Fetch-Site: ${site}`;
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== url.origin) return `Origin: ${origin}`;
  return null;
}

/** A plain-text response. */
export function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=UTF-8", ...headers } });
}

/** A JSON response, pretty-printed as Envoy's admin does. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}
