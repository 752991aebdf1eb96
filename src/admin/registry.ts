/**
 * The admin endpoint as a registry of handlers (ztunnel's admin.rs): each subsystem adds its own
 * paths, and the core is a web-standard `Request → Response` function, testable without a socket.
 * Mutations are POST only (405 otherwise); an optional bearer token guards every path.
 *
 * @example
 * ```ts
 * const admin = new AdminRegistry({ token: null });
 * admin.add({ path: "/ready", help: "print server state", handle: () => new Response("LIVE\n") });
 * await admin.handle(new Request("http://x/ready"));
 * ```
 * @module
 */

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
  private token: string | null;

  constructor(options: { token: string | null }) {
    this.token = options.token;
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
    if (this.token !== null && req.headers.get("authorization") !== `Bearer ${this.token}`) {
      return text(401, "unauthorized: this admin endpoint requires 'Authorization: Bearer <token>'\n");
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
