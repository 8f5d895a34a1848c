/**
 * The daemon's HTTP surface, on node:http: probes (`/healthz`, `/readyz`), `/metrics`, the status page
 * (`/`, `/clusters/<name>`), the JSON API (`/api/v1/…`) and push webhooks (`/hooks/git`). It depends on
 * `DaemonControl` only, never on the loop's internals.
 *
 * Reading is open (a status page behind the operator's network); every mutating endpoint needs
 * `Authorization: Bearer <token>` of a configured API token, and records the token's name as who asked.
 * A 401 never says which tokens exist. Request bodies are bounded (413), slow clients are cut off by
 * timeouts, and every answer to a browser carries a Content-Security-Policy that allows no script.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BosunError, InvalidInputError } from "../errors.js";
import { ControlError, type DaemonControl } from "./control.js";
import type { Pause } from "./state.js";
import { handleGitHook, type HookSecrets } from "./hooks.js";
import { handleGitHubHook, handleGitLabHook } from "./pr-hooks.js";
import { renderClusterPage, renderErrorPage, renderStatusPage } from "./status-page.js";
import type { ApiTokens } from "./tokens.js";

/** The largest webhook body read: GitHub caps payloads at 25 MB, but a push of a few commits is far below 1 MiB. */
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;
/** The largest API request body read: `{wave, revision, by}` fits in a few hundred bytes. */
export const MAX_API_BODY_BYTES = 64 * 1024;
/** The longest free-text field accepted (`by`, `reason`). */
const MAX_TEXT = 500;

/** A log function: the daemon's logger, with fields. */
export type HttpLog = (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** `host:port` to listen on (`127.0.0.1:8080`, `[::1]:8080`); port 0 takes any free port. */
  listen: string;
  control: DaemonControl;
  /** The Prometheus exposition (prom-client's registry). */
  metrics: () => Promise<{ contentType: string; body: string }>;
  tokens: ApiTokens;
  hooks: HookSecrets;
  /** The ref the daemon follows (`main`): pushes to other refs are acknowledged and ignored. */
  followedRef: string | null;
  /** The repository (`owner/name`) and project the pull-request bots serve, when configured. */
  reviews?: { github?: string; gitlab?: string };
  log: HttpLog;
}

/** A running server. */
export interface HttpServer {
  /** `http://host:port` with the port actually bound. */
  url: string;
  /** Stops accepting connections, closes idle ones and resolves when the server has closed. */
  close(): Promise<void>;
}

/** An answer the router has decided on. */
interface Reply {
  status: number;
  type: "json" | "html" | "text" | "raw";
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A request refused before it reached the daemon (401, 405, 413, 400 …). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const CONTENT_TYPES = {
  json: "application/json; charset=utf-8",
  html: "text/html; charset=utf-8",
  text: "text/plain; charset=utf-8",
} as const;

/** The headers of every answer: nothing cached, nothing sniffed, no script, no framing. */
const COMMON_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Parses `host:port`; IPv6 hosts in brackets. Throws `InvalidInputError` naming the value. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) throw new InvalidInputError(`listen address ${JSON.stringify(listen)} is not host:port (for example 127.0.0.1:8080)`);
  return { host: match[1] ?? match[2] ?? "", port };
}

/** Starts the HTTP server and resolves once it listens. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host, port } = parseListen(options.listen);
  const server = http.createServer({
    // A slow client (slowloris) cannot hold a connection: headers in 10 s, the whole request in 30 s.
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 16 * 1024,
  });
  server.maxHeadersCount = 100;
  // An idle socket that sends nothing at all is closed too.
  server.setTimeout(60_000, (socket) => socket.destroy());
  let url = "";
  server.on("request", (request, response) => {
    void serve(request, response, options, () => url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  options.log("info", "http server listening", { url, tokens: options.tokens.names() });
  return {
    url,
    close: async () => {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      server.closeIdleConnections();
      // A keep-alive connection mid-request gets a short grace, then goes.
      const force = setTimeout(() => { server.closeAllConnections(); }, 2_000);
      force.unref();
      try {
        await closed;
      } finally {
        clearTimeout(force);
      }
    },
  };
}

async function serve(request: http.IncomingMessage, response: http.ServerResponse, options: HttpServerOptions, url: () => string): Promise<void> {
  let reply: Reply;
  try {
    reply = await route(request, options, url);
  } catch (error) {
    reply = errorReply(error, request, options.log);
  }
  if (response.headersSent || response.destroyed) return;
  const contentType = reply.type === "raw" ? (reply.contentType ?? CONTENT_TYPES.text) : CONTENT_TYPES[reply.type];
  const body = Buffer.from(reply.body, "utf8");
  response.writeHead(reply.status, { ...COMMON_HEADERS, ...reply.headers, "content-type": contentType, "content-length": String(body.length) });
  // node:http sends no body for HEAD on its own.
  response.end(body);
}

function errorReply(error: unknown, request: http.IncomingMessage, log: HttpLog): Reply {
  if (error instanceof HttpError) return { ...json(error.status, { error: error.message }), headers: error.headers };
  if (error instanceof ControlError) return json(error.status, { error: error.message });
  // Anything else is the daemon's failure, not the client's: logged in full, answered in general.
  const message = error instanceof Error ? error.message : String(error);
  log("warn", "http request failed", { method: request.method, path: pathOf(request), error: message, reason: error instanceof BosunError ? error.reason : "Internal" });
  const retryable = error instanceof BosunError && (error.retryable || error.reason === "StateConflict");
  return json(retryable ? 503 : 500, { error: retryable ? "the daemon could not record the change now; try again" : "internal error; see the daemon's log" });
}

function json(status: number, value: unknown): Reply {
  return { status, type: "json", body: `${JSON.stringify(value, null, 2)}\n` };
}

function pathOf(request: http.IncomingMessage): string {
  const raw = request.url ?? "/";
  const q = raw.indexOf("?");
  return q < 0 ? raw : raw.slice(0, q);
}

/** Splits a path into decoded segments; a malformed escape is a 400. */
function segments(path: string): string[] {
  try {
    return path.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, "malformed path");
  }
}

type Handler = () => Promise<Reply> | Reply;

/** Picks the handler of a method on a matched route, or 405 with the methods the route takes. */
function methods(request: http.IncomingMessage, handlers: Partial<Record<"GET" | "POST" | "DELETE", Handler>>): Promise<Reply> | Reply {
  const method = request.method === "HEAD" ? "GET" : request.method;
  const handler = method === "GET" || method === "POST" || method === "DELETE" ? handlers[method] : undefined;
  if (handler === undefined) {
    const allow = Object.keys(handlers).flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
    throw new HttpError(405, `method ${request.method ?? ""} not allowed here`, { allow });
  }
  return handler();
}

async function route(request: http.IncomingMessage, options: HttpServerOptions, url: () => string): Promise<Reply> {
  const { control } = options;
  const parts = segments(pathOf(request));
  const [a, b, c, d, e, ...rest] = parts;
  const pageOptions = { serverUrl: url() };
  if (parts.length === 0) return methods(request, { GET: () => ({ status: 200, type: "html", body: renderStatusPage(control.status(), pageOptions) }) });
  if (a === "healthz" && parts.length === 1) return methods(request, { GET: () => ({ status: 200, type: "text", body: "ok\n" }) });
  if (a === "readyz" && parts.length === 1) {
    return methods(request, {
      GET: () => {
        const status = control.status();
        return status.ready ? { status: 200, type: "text", body: "ready\n" } : { status: 503, type: "text", body: `not ready: ${status.notReadyReason ?? "starting"}\n` };
      },
    });
  }
  if (a === "metrics" && parts.length === 1) {
    return methods(request, {
      GET: async () => {
        const metrics = await options.metrics();
        return { status: 200, type: "raw", contentType: metrics.contentType, body: metrics.body };
      },
    });
  }
  if (a === "clusters" && b !== undefined && parts.length === 2) {
    return methods(request, {
      GET: () => {
        const status = control.status();
        const cluster = status.clusters.find((x) => x.name === b);
        if (cluster === undefined) return { status: 404, type: "html", body: renderErrorPage("cluster not found", `The fleet has no cluster ${b}.`) };
        return { status: 200, type: "html", body: renderClusterPage(status, cluster, control.clusterPlan(b), pageOptions) };
      },
    });
  }
  if (a === "hooks" && (b === "github" || b === "gitlab") && parts.length === 2) {
    return methods(request, {
      POST: async () => {
        const body = await readBody(request, MAX_HOOK_BODY_BYTES);
        const context = { secrets: options.hooks, followedRef: options.followedRef, control, log: options.log, bot: control.reviewBot?.(b) ?? null, repository: options.reviews?.[b] ?? null };
        const answer = b === "github" ? await handleGitHubHook({ headers: request.headers, body }, context) : await handleGitLabHook({ headers: request.headers, body }, context);
        return json(answer.status, answer.body);
      },
    });
  }
  if (a === "hooks" && b === "git" && parts.length === 2) {
    return methods(request, {
      POST: async () => {
        const body = await readBody(request, MAX_HOOK_BODY_BYTES);
        const answer = await handleGitHook({ headers: request.headers, body }, { secrets: options.hooks, followedRef: options.followedRef, control, log: options.log });
        return json(answer.status, answer.body);
      },
    });
  }
  if (a === "api" && b === "v1") {
    if (c === "status" && parts.length === 3) return methods(request, { GET: () => json(200, control.status()) });
    if (c === "clusters" && d !== undefined && e === "plan" && rest.length === 0) {
      return methods(request, {
        GET: () => {
          const plan = control.clusterPlan(d);
          if (plan !== undefined) return json(200, plan);
          const known = control.status().clusters.some((x) => x.name === d);
          return json(404, { error: known ? `cluster ${d} has not been planned yet` : `no cluster ${d} in the fleet` });
        },
      });
    }
    if (c === "approvals" && parts.length === 3) {
      return methods(request, {
        POST: async () => {
          const token = authenticate(request, options);
          const body = await readJson(request);
          const wave = field(body, "wave", true);
          const revision = field(body, "revision", true);
          const actor = { token, by: field(body, "by", false) ?? token };
          const approval = await control.approve(wave, revision, actor);
          options.log("info", "approval recorded", { wave, revision: approval.revision, token, by: actor.by });
          return json(201, approval);
        },
      });
    }
    if (c === "pauses" && parts.length === 3) {
      return methods(request, {
        POST: async () => {
          const token = authenticate(request, options);
          const body = await readJson(request);
          const scope = scopeOf(field(body, "scope", true));
          const name = field(body, "name", true);
          const reason = field(body, "reason", false);
          const actor = { token, by: field(body, "by", false) ?? token };
          const pause = await control.pause(scope, name, actor, reason);
          options.log("info", "pause recorded", { scope, name, token, by: actor.by });
          return json(201, pause);
        },
      });
    }
    if (c === "pauses" && d !== undefined && e !== undefined && rest.length === 0) {
      return methods(request, {
        DELETE: async () => {
          const token = authenticate(request, options);
          const scope = scopeOf(d);
          const by = request.headers["x-bosun-by"];
          const actor = { token, by: typeof by === "string" && by !== "" ? limited("by", by) : token };
          await control.resume(scope, e, actor);
          options.log("info", "resumed", { scope, name: e, token, by: actor.by });
          return json(200, { resumed: { scope, name: e } });
        },
      });
    }
    if (c === "reconcile" && parts.length === 3) {
      return methods(request, {
        POST: () => {
          const token = authenticate(request, options);
          const reason = `api request (${token})`;
          control.trigger(reason);
          options.log("info", "reconcile requested", { token });
          return json(202, { triggered: reason });
        },
      });
    }
  }
  throw new HttpError(404, "not found");
}

/** The name of the request's API token; 401 otherwise (the same answer whatever was wrong). */
function authenticate(request: http.IncomingMessage, options: HttpServerOptions): string {
  const name = options.tokens.authenticate(request.headers.authorization);
  if (name === null) {
    options.log("warn", "api request refused: missing or invalid token", { method: request.method, path: pathOf(request) });
    throw new HttpError(401, "a valid API token is required (Authorization: Bearer <token>)", { "www-authenticate": 'Bearer realm="bosun"' });
  }
  return name;
}

/** Reads a body of at most `limit` bytes: 413 past it (announced or actual). */
async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  const announced = Number(request.headers["content-length"] ?? "0");
  if (announced > limit) {
    request.resume();
    throw new HttpError(413, `request body larger than ${limit} bytes`, { connection: "close" });
  }
  // Listeners, not an async iterator: leaving an iterator early destroys the request and its socket, and
  // the 413 would never reach the client.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        reject(new HttpError(413, `request body larger than ${limit} bytes`, { connection: "close" }));
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => {
      if (!refused) resolve(Buffer.concat(chunks));
    });
    request.on("error", reject);
    // A client gone before the end: nothing to answer, and nothing may be triggered from half a body.
    request.on("close", () => {
      if (!request.complete) reject(new HttpError(400, "request body incomplete"));
    });
  });
}

async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(request, MAX_API_BODY_BYTES)).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text === "" ? "{}" : text);
  } catch {
    throw new HttpError(400, "request body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new HttpError(400, "request body must be a JSON object");
  return value as Record<string, unknown>;
}

function field(body: Record<string, unknown>, name: string, required: true): string;
function field(body: Record<string, unknown>, name: string, required: false): string | undefined;
function field(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (value === undefined || value === null || value === "") {
    if (required) throw new HttpError(400, `field ${name} is required`);
    return undefined;
  }
  if (typeof value !== "string") throw new HttpError(400, `field ${name} must be a string`);
  return limited(name, value);
}

function limited(name: string, value: string): string {
  if (value.length > MAX_TEXT) throw new HttpError(400, `field ${name} is longer than ${MAX_TEXT} characters`);
  return value;
}

function scopeOf(value: string): Pause["scope"] {
  if (value === "cluster" || value === "wave") return value;
  throw new HttpError(400, 'scope must be "cluster" or "wave"');
}
