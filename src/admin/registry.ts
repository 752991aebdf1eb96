/**
 * The admin endpoint as a registry of handlers (ztunnel's admin.rs): each subsystem adds its own
 * paths, and the core is a web-standard `Request → Response` function, testable without a socket.
 * Mutations are POST only (405 otherwise); an optional bearer token guards every path. Without a
 * token, two checks keep web pages out (403), since a page can send requests to a local port:
 * - the `Host` must name admin itself (an IP literal, `localhost`, or the address admin is bound
 *   to), so a page whose own name an attacker re-pointed at 127.0.0.1 (DNS rebinding), and whose
 *   requests are therefore same-origin to the browser, can neither read nor change anything;
 * - a state-changing request a browser sent from another site (`Sec-Fetch-Site`, or an `Origin`
 *   that is not admin itself by one of those names and its port) is refused. Reads, and clients
 *   that send no `Origin` (curl, `weft inspect`), pass.
 *
 * @example
 * ```ts
 * const admin = new AdminRegistry({ token: null });
 * admin.add({ path: "/ready", help: "print server state", handle: () => new Response("LIVE\n") });
 * admin.servedAt("127.0.0.1:9901"); // once bound
 * await admin.handle(new Request("http://127.0.0.1:9901/ready"));
 * ```
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

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
  /** Where admin is bound (see `servedAt`); null until then, which refuses every `Origin`. */
  private bound: { hostname: string; port: number } | null = null;

  constructor(options: { token: string | null }) {
    this.authorizationDigest = options.token === null ? null : digest(`Bearer ${options.token}`);
    this.add({ path: "/", help: "print this help page", handle: () => this.helpPage() });
    this.add({ path: "/help", help: "print this help page", handle: () => this.helpPage() });
  }

  /**
   * Tells the registry the `host:port` (IPv6 in brackets) its server is bound to: without a token,
   * requests must name that host (or an IP literal, or `localhost`), and an `Origin` that port.
   */
  servedAt(authority: string): void {
    const url = new URL(`http://${authority}`);
    this.bound = { hostname: url.hostname, port: Number(url.port || 80) };
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
    } else {
      const host = req.headers.get("host");
      // No Host at all is no browser (every browser sends one), so no web page.
      if (host !== null && !this.namesSelf(host)) {
        return text(
          403,
          `refused: Host ${host} does not name this admin endpoint (use an IP address, localhost${this.bound ? ` or ${this.bound.hostname}` : ""}); without --admin-token, admin answers only requests addressed to itself, so that a web page whose name was pointed at this machine (DNS rebinding) cannot use it\n`,
        );
      }
      const from = req.method !== "GET" && req.method !== "HEAD" ? this.crossSiteSender(req) : null;
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

  /**
   * Whether `authority` (a `Host` value) names admin itself: an IP literal, `localhost` (browsers
   * resolve it to loopback themselves) or the name admin is bound to. Any other DNS name may have
   * been pointed here by whoever controls it.
   */
  private namesSelf(authority: string): boolean {
    let hostname: string;
    try {
      hostname = new URL(`http://${authority}`).hostname;
    } catch {
      return false;
    }
    const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
    return isIP(bare) !== 0 || hostname === "localhost" || hostname === this.bound?.hostname;
  }

  /**
   * The header that shows a browser sent `req` from a page of another site, or null:
   * `Sec-Fetch-Site` `cross-site` or `same-site` (another port or subdomain is another origin), or
   * an `Origin` that is not admin itself (`null` included): http, a name of admin's (never the
   * request's `Host`, which a rebound page controls), and admin's port.
   */
  private crossSiteSender(req: Request): string | null {
    const site = req.headers.get("sec-fetch-site");
    if (site === "cross-site" || site === "same-site") return `Sec-Fetch-Site: ${site}`;
    const origin = req.headers.get("origin");
    if (origin === null) return null;
    let url: URL | null = null;
    try {
      url = new URL(origin);
    } catch {
      // "null" and anything else unparsable: not admin's own page.
    }
    const own = url !== null && url.protocol === "http:" && this.bound !== null && Number(url.port || 80) === this.bound.port &&
      this.namesSelf(url.host);
    return own ? null : `Origin: ${origin}`;
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
