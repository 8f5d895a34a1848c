/**
 * A small REST client for reading a cluster and dry-running applies against it, used by every observer.
 *
 * Why not the generated `@kubernetes/client-node` APIs here: observers need three things those do not
 * give cheaply — a hard timeout per request (an unreachable cluster must fail fast, never hang the plan),
 * a count of the requests made (the observers promise a bounded number per cluster, and tests count them),
 * and one error type that says "this cluster is unreachable" for network errors, timeouts and 401/403
 * alike. Credentials and TLS still come from the kubeconfig through `applyToHTTPSOptions`.
 */
import https from "node:https";
import type * as k8s from "@kubernetes/client-node";
import { BosunError, InvalidInputError } from "../errors.js";
import { scrubSecrets } from "../scrub.js";
import { connectionSecrets } from "./secrets.js";

/**
 * The User-Agent of every request bosun sends: API server audit logs attribute each write to bosun by it,
 * which is how the tests prove what bosun did and did not write.
 */
export const USER_AGENT = "bosun";

/** Default time a request's connection may stay idle (no bytes either way) before it is abandoned. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Largest response body read; a bigger one fails its cluster rather than the process's memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The cluster cannot be talked to: connection refused, TLS failure, timeout, or credentials rejected. */
export class UnreachableError extends BosunError {
  readonly cluster: string;
  constructor(cluster: string, message: string, cause?: unknown) {
    super(message, { reason: "Unreachable", identity: `${cluster}:`, cause, retryable: true });
    this.cluster = cluster;
  }
}

/** The API server answered a request with an error status other than 401/403/404. */
export class KubeApiError extends BosunError {
  readonly status: number;
  /** The `reason` of the API server's Status object (`Invalid`, `Conflict`, `NotFound`…), if it sent one. */
  readonly statusReason: string | undefined;
  constructor(message: string, status: number, statusReason: string | undefined, identity?: string) {
    super(message, { reason: "KubeApi", ...(identity === undefined ? {} : { identity }), retryable: status >= 500 || status === 429 });
    this.status = status;
    this.statusReason = statusReason;
  }
}

/** Options of a {@link KubeRest}. */
export interface KubeRestOptions {
  /** Name of the cluster, for errors. */
  cluster: string;
  /** Time one request may take. */
  timeoutMs?: number;
  /**
   * Aborts every request in flight and every later one: the per-cluster deadline, or the run's signal (a
   * lost lock, SIGTERM). When its reason is a `BosunError` (a `LockLostError`), that is what requests throw.
   */
  signal?: AbortSignal;
  /**
   * Awaited before every write (any method but GET) is sent: the cluster lock holds writes back while it
   * is renewing, so a write is never sent while the lock may already be someone else's.
   */
  beforeWrite?: () => Promise<void>;
}

/** One request: method, path and optional query, body and content type. */
export interface KubeRequest {
  method: "GET" | "PATCH" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  /** Aborts this request (in addition to the client's own signal). */
  signal?: AbortSignal;
}

/** The minimal shape of any Kubernetes object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A LIST response. */
interface KubeList<T> {
  items?: T[];
  metadata?: { continue?: string };
}

/** One API resource from discovery. */
export interface ApiResource {
  /** The plural resource name in URLs (`deployments`). */
  name: string;
  namespaced: boolean;
}

/**
 * Reads one cluster and dry-runs applies against it, counting requests. One instance per cluster and
 * per plan run; discovery answers are cached in it.
 */
export class KubeRest {
  /** Requests sent so far (every attempt counts, failed ones too). */
  requests = 0;
  readonly cluster: string;
  private readonly timeoutMs: number;
  /** The client's signal: every request stops when it aborts. */
  readonly signal: AbortSignal | undefined;
  private readonly beforeWrite: (() => Promise<void>) | undefined;
  private readonly discovery: Map<string, Promise<Map<string, ApiResource>>>;
  // Keep-alive: an observation makes tens of requests to one server, and a TLS handshake per request
  // costs more than the request. Idle sockets are unref'd by Node, so they never keep the process alive.
  private readonly agent: https.Agent;
  // What this connection sends as credentials, scrubbed from every server message (a server may echo them).
  private secrets: string[] = [];

  constructor(
    private readonly kc: k8s.KubeConfig,
    options: KubeRestOptions,
    shared?: { agent: https.Agent; discovery: Map<string, Promise<Map<string, ApiResource>>> },
  ) {
    this.cluster = options.cluster;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.signal = options.signal;
    this.beforeWrite = options.beforeWrite;
    this.agent = shared?.agent ?? new https.Agent({ keepAlive: true, maxSockets: 8 });
    this.discovery = shared?.discovery ?? new Map<string, Promise<Map<string, ApiResource>>>();
  }

  /**
   * A client for the same cluster (sharing connections and discovery) whose requests also stop when
   * `signal` aborts, and whose writes first await `beforeWrite` (both in addition to this client's own).
   * The executor derives the client a run writes with from it, bound to the run's lock.
   */
  derive(options: { signal?: AbortSignal; beforeWrite?: () => Promise<void> }): KubeRest {
    const signals = [this.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const gates = [this.beforeWrite, options.beforeWrite].filter((g): g is () => Promise<void> => g !== undefined);
    const derived: KubeRestOptions = { cluster: this.cluster, timeoutMs: this.timeoutMs };
    if (signals.length > 0) derived.signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    if (gates.length > 0) {
      derived.beforeWrite = async () => {
        for (const gate of gates) await gate();
      };
    }
    return new KubeRest(this.kc, derived, { agent: this.agent, discovery: this.discovery });
  }

  /** The kubeconfig this client talks through (helm is handed the same cluster). */
  get kubeConfig(): k8s.KubeConfig {
    return this.kc;
  }

  /** Closes the kept-alive connections (the instance must not be used afterwards). */
  close(): void {
    this.agent.destroy();
  }

  /** Creates an object at `collection` (a POST); the API server's 409 (already exists) is a `KubeApiError`. */
  async create<T>(collection: string, body: unknown, what = `create ${collection}`, signal?: AbortSignal): Promise<T> {
    return this.call<T>({ method: "POST", path: collection, body: JSON.stringify(body), contentType: "application/json", ...(signal ? { signal } : {}) }, what);
  }

  /**
   * Replaces an object (a PUT). The body's `metadata.resourceVersion` makes it a compare-and-swap: a write
   * racing another is refused with 409 (`KubeApiError`, `statusReason` Conflict).
   */
  async replace<T>(path: string, body: unknown, what = `replace ${path}`, signal?: AbortSignal): Promise<T> {
    return this.call<T>({ method: "PUT", path, body: JSON.stringify(body), contentType: "application/json", ...(signal ? { signal } : {}) }, what);
  }

  /**
   * Deletes an object; `false` when it was already gone (404). `preconditions` (uid, resourceVersion) make
   * the delete fail with 409 when the object changed since it was read.
   */
  async remove(path: string, options: { preconditions?: { uid?: string; resourceVersion?: string }; propagationPolicy?: string; what?: string; signal?: AbortSignal } = {}): Promise<boolean> {
    const body = {
      apiVersion: "v1",
      kind: "DeleteOptions",
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    };
    const response = await this.send({ method: "DELETE", path, body: JSON.stringify(body), contentType: "application/json", ...(options.signal ? { signal: options.signal } : {}) });
    if (response.status === 404) return false;
    this.parse(response, options.what ?? `DELETE ${path}`);
    return true;
  }

  /** GETs one object or resource; `null` when it does not exist (404). */
  async get<T>(path: string, query?: Record<string, string | undefined>): Promise<T | null> {
    const response = await this.send({ method: "GET", path, ...(query ? { query } : {}) });
    if (response.status === 404) return null;
    return this.parse(response, `GET ${path}`) as T;
  }

  /**
   * LISTs a collection (all pages); an empty list when the resource type does not exist (404: a CRD that is
   * not installed).
   */
  async list<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T[]> {
    const items: T[] = [];
    let continueToken: string | undefined;
    do {
      const response = await this.send({
        method: "GET",
        path,
        query: { ...query, limit: "500", continue: continueToken },
      });
      if (response.status === 404) return [];
      const page = this.parse(response, `LIST ${path}`) as KubeList<T>;
      items.push(...(page.items ?? []));
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return items;
  }

  /**
   * Server-side applies `object` with `dryRun=All` and `force=true` as `fieldManager`, and returns what the
   * API server would store. Nothing is changed. `null` when the object's kind is not served by the cluster
   * (its CRD is not installed yet).
   */
  async applyDryRun(object: KubeObject, fieldManager: string): Promise<KubeObject | null> {
    const path = await this.objectPath(object);
    if (path === null) return null;
    const response = await this.send({
      method: "PATCH",
      path,
      query: { dryRun: "All", fieldManager, force: "true" },
      body: JSON.stringify(object),
      contentType: "application/apply-patch+yaml",
    });
    return this.parse(response, `dry-run apply of ${object.kind}/${object.metadata.name}`, object.kind === "Secret") as KubeObject;
  }

  /**
   * Sends a write (or any request) and returns the parsed answer; a status outside 2xx becomes a
   * {@link KubeApiError} carrying the API server's status reason (`Conflict`, `TooManyRequests`…).
   */
  async call<T>(request: KubeRequest, what = `${request.method} ${request.path}`): Promise<T> {
    return this.parse(await this.send(request), what) as T;
  }

  /** GETs the live version of `object`; `null` when it does not exist or its kind is not served. */
  async getLive(object: KubeObject): Promise<KubeObject | null> {
    const path = await this.objectPath(object);
    if (path === null) return null;
    return this.get<KubeObject>(path);
  }

  /**
   * The URL path of one object, from discovery (cached per group/version); `null` when the cluster does not
   * serve its kind.
   */
  async objectPath(object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<string | null> {
    const resource = await this.resource(object.apiVersion, object.kind);
    if (!resource) return null;
    const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const namespace = resource.namespaced ? `/namespaces/${encodeURIComponent(object.metadata.namespace ?? "default")}` : "";
    return `${base}${namespace}/${resource.name}/${encodeURIComponent(object.metadata.name)}`;
  }

  /** The resource serving `kind` in `apiVersion`, or undefined when the cluster does not serve it. */
  async resource(apiVersion: string, kind: string): Promise<ApiResource | undefined> {
    let pending = this.discovery.get(apiVersion);
    if (!pending) {
      pending = this.discover(apiVersion);
      this.discovery.set(apiVersion, pending);
    }
    return (await pending).get(kind);
  }

  private async discover(apiVersion: string): Promise<Map<string, ApiResource>> {
    const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = await this.get<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>(path);
    const byKind = new Map<string, ApiResource>();
    for (const resource of list?.resources ?? []) {
      if (resource.name.includes("/")) continue; // subresources such as deployments/scale
      byKind.set(resource.kind, { name: resource.name, namespaced: resource.namespaced });
    }
    return byKind;
  }

  /**
   * Sends one request. Network errors, timeouts, an abort and 401/403 become {@link UnreachableError};
   * every other status is returned.
   */
  async send(request: KubeRequest): Promise<{ status: number; body: string }> {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new InvalidInputError(`cluster ${this.cluster}: the kubeconfig context has no cluster server`);
    const signal = request.signal && this.signal ? AbortSignal.any([this.signal, request.signal]) : (request.signal ?? this.signal);
    this.refuseIfAborted(signal, request);
    if (request.method !== "GET" && this.beforeWrite) {
      await this.beforeWrite();
      // The gate may have ended with the lock lost: this write must not be sent then.
      this.refuseIfAborted(signal, request);
    }
    // The server URL may carry a path (a cluster behind Rancher or an API gateway): keep it.
    const url = new URL(server);
    url.pathname = `${url.pathname.replace(/\/$/, "")}${request.path}`;
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": USER_AGENT };
    if (request.contentType) headers["Content-Type"] = request.contentType;
    const options: https.RequestOptions = { method: request.method, headers, timeout: this.timeoutMs, agent: this.agent };
    if (signal) options.signal = signal;
    try {
      await this.kc.applyToHTTPSOptions(options);
    } catch (error) {
      // An exec or auth-provider plugin failed; its message can carry whatever the plugin printed
      // (tokens included), so only a fixed sentence is reported.
      throw this.unreachable("could not get credentials from the kubeconfig (its exec or auth-provider plugin failed, or its TLS settings are unusable)", error);
    }
    // Kept from every request: an exec plugin's token may be renewed while answers to the old one are read.
    this.secrets = [...new Set([...this.secrets, ...connectionSecrets(this.kc.getCurrentUser(), options)])];
    this.requests += 1;
    const what = `${request.method} ${url.pathname}`;
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`no answer for ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(request.body);
    }).catch((error: unknown) => {
      if (signal?.aborted && signal.reason instanceof BosunError) throw signal.reason;
      const reason = signal?.aborted ? "cancelled (cluster deadline passed)" : describeNetworkError(error);
      throw this.unreachable(`${what}: ${reason}`, error);
    });
    // A refused read means bosun cannot observe the cluster; a refused write (a dry-run apply) is about
    // that object — RBAC, an admission policy, a namespace being deleted — and fails only its add-on.
    if (response.status === 403 && request.method === "GET") {
      throw this.unreachable(`${what}: forbidden (HTTP 403): bosun's credentials are not allowed to read this; grant them read access to it`);
    }
    if (response.status === 401) {
      throw this.unreachable(`${what}: the API server refused bosun's credentials (HTTP 401)`);
    }
    return response;
  }

  private parse(response: { status: number; body: string }, what: string, sensitive = false): unknown {
    if (response.status >= 200 && response.status < 300) {
      try {
        return JSON.parse(response.body) as unknown;
      } catch {
        // Not the parser's message: it quotes the start of the body, which the server chose (and could be
        // an echoed token, cut where scrubbing would not recognise it).
        throw new KubeApiError(`cluster ${this.cluster}: ${what}: the API server sent invalid JSON (HTTP ${response.status}, ${response.body.length} bytes)`, response.status, undefined, `${this.cluster}:`);
      }
    }
    const status = parseStatus(response.body);
    // The API server's message can quote field values; for a Secret that could be secret data, so only
    // the status reason is kept.
    // It can also echo the request's credentials (a hostile or buggy server): they are scrubbed.
    const detail = sensitive ? (status.reason ?? "error") : (status.message ?? status.reason ?? scrubSecrets(response.body, this.secrets).slice(0, 200));
    throw new KubeApiError(`cluster ${this.cluster}: ${what}: HTTP ${response.status}: ${scrubSecrets(detail, this.secrets)}`, response.status, status.reason, `${this.cluster}:`);
  }

  /**
   * Throws when `signal` aborted: its reason when that is a `BosunError` (the lock was lost), else an
   * unreachable "cancelled". Nothing is sent after an abort.
   */
  private refuseIfAborted(signal: AbortSignal | undefined, request: KubeRequest): void {
    if (!signal?.aborted) return;
    if (signal.reason instanceof BosunError) throw signal.reason;
    throw this.unreachable(`${request.method} ${request.path}: cancelled (cluster deadline passed)`);
  }

  private unreachable(message: string, cause?: unknown): UnreachableError {
    return new UnreachableError(this.cluster, `cluster ${this.cluster}: ${message}`, cause);
  }
}

function parseStatus(body: string): { message?: string; reason?: string } {
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: unknown; reason?: unknown };
    return {
      ...(typeof parsed.message === "string" ? { message: parsed.message } : {}),
      ...(typeof parsed.reason === "string" ? { reason: parsed.reason } : {}),
    };
  } catch {
    return {};
  }
}

function describeNetworkError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
}
