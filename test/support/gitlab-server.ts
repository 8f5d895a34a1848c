/**
 * A stand-in for a GitLab instance's REST API v4 on 127.0.0.1 (a random port) for contract tests. GitLab
 * publishes no machine-readable description of these endpoints, so the contract is written down here from
 * GitLab's REST API documentation:
 *
 * - Notes, https://docs.gitlab.com/api/notes/#merge-requests :
 *   `GET /projects/:id/merge_requests/:merge_request_iid/notes` (query `sort` asc|desc, `order_by`
 *   created_at|updated_at, `page`, `per_page` ≤ 100);
 *   `POST /projects/:id/merge_requests/:merge_request_iid/notes` (`body` string, required; `internal`
 *   boolean; `created_at`, `merge_request_diff_head_sha` strings);
 *   `PUT /projects/:id/merge_requests/:merge_request_iid/notes/:note_id` (`body` string, required).
 * - Commit statuses, https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit :
 *   `POST /projects/:id/statuses/:sha` (`state` required: pending|running|success|failed|canceled|skipped;
 *   `ref`, `name`, `context`, `target_url`, `description` strings, `coverage` number, `pipeline_id` integer).
 * - `:id` is a numeric id or the URL-encoded path (`group%2Fname`); authentication by `PRIVATE-TOKEN` or
 *   `JOB-TOKEN`; pagination answered with `X-Page`, `X-Next-Page`, `X-Total-Pages` and `Link`.
 *
 * Anything else — another path, an undocumented parameter, a missing or mistyped required one — is a 404
 * or 400 and a recorded violation, which the tests expect to be empty.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

interface Field {
  type: "string" | "boolean" | "number" | "integer";
  required?: boolean;
  enum?: readonly string[];
}

interface Endpoint {
  method: string;
  name: string;
  pattern: RegExp;
  names: string[];
  query: Record<string, Field>;
  body?: Record<string, Field>;
}

const PAGINATION: Record<string, Field> = { page: { type: "integer" }, per_page: { type: "integer" } };

const ENDPOINTS: Endpoint[] = [
  {
    method: "GET",
    name: "list-mr-notes",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/([^/]+)\/notes$/,
    names: ["id", "merge_request_iid"],
    query: { ...PAGINATION, sort: { type: "string", enum: ["asc", "desc"] }, order_by: { type: "string", enum: ["created_at", "updated_at"] } },
  },
  {
    method: "POST",
    name: "create-mr-note",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/([^/]+)\/notes$/,
    names: ["id", "merge_request_iid"],
    query: {},
    body: { body: { type: "string", required: true }, internal: { type: "boolean" }, created_at: { type: "string" }, merge_request_diff_head_sha: { type: "string" } },
  },
  {
    method: "PUT",
    name: "edit-mr-note",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/([^/]+)\/notes\/([^/]+)$/,
    names: ["id", "merge_request_iid", "note_id"],
    query: {},
    body: { body: { type: "string", required: true } },
  },
  {
    method: "POST",
    name: "set-commit-status",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/statuses\/([^/]+)$/,
    names: ["id", "sha"],
    query: {},
    body: {
      state: { type: "string", required: true, enum: ["pending", "running", "success", "failed", "canceled", "skipped"] },
      ref: { type: "string" },
      name: { type: "string" },
      context: { type: "string" },
      target_url: { type: "string" },
      description: { type: "string" },
      coverage: { type: "number" },
      pipeline_id: { type: "integer" },
    },
  },
];

/** One request the server received. */
export interface GitLabRequest {
  method: string;
  path: string;
  endpoint: string | undefined;
  body: Record<string, unknown> | undefined;
  token: string | undefined;
}

/** A note as the server keeps it. */
export interface StoredNote {
  id: number;
  mr: number;
  body: string;
  author: string;
  system: boolean;
}

/** A status as the server keeps it. */
export interface StoredGitLabStatus {
  sha: string;
  state: string;
  name: string;
  description: string | undefined;
  target_url: string | undefined;
}

/** A running stand-in. */
export interface GitLabServer {
  url: string;
  requests: GitLabRequest[];
  violations: string[];
  notes: StoredNote[];
  statuses: StoredGitLabStatus[];
  seedNote: (mr: number, body: string, author: string, system?: boolean) => StoredNote;
  close: () => Promise<void>;
}

/** Options of {@link startGitLabServer}. */
export interface GitLabServerOptions {
  /** The project, as its numeric id and its path; both address it. */
  projectId: number;
  projectPath: string;
  /** Merge requests that exist (IIDs). */
  mergeRequests: number[];
  /** `PRIVATE-TOKEN` or `JOB-TOKEN` accepted. */
  token: string;
  username?: string;
}

/** Starts the stand-in; `close()` it in an afterAll. */
export async function startGitLabServer(options: GitLabServerOptions): Promise<GitLabServer> {
  const username = options.username ?? "bosun-bot";
  const requests: GitLabRequest[] = [];
  const violations: string[] = [];
  const notes: StoredNote[] = [];
  const statuses: StoredGitLabStatus[] = [];
  let nextId = 500;
  let url = "";
  const noteJson = (n: StoredNote): Record<string, unknown> => ({
    id: n.id,
    type: null,
    body: n.body,
    author: { id: n.author.length, username: n.author, name: n.author, state: "active" },
    created_at: "2026-12-01T00:00:00.000Z",
    updated_at: "2026-12-01T00:00:00.000Z",
    system: n.system,
    noteable_id: 1,
    noteable_type: "MergeRequest",
    noteable_iid: n.mr,
    resolvable: false,
    confidential: false,
    internal: false,
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const method = req.method ?? "GET";
      const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
      const send = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(value));
      };
      const fail = (status: number, problem: string): void => {
        violations.push(problem);
        send(status, { message: problem });
      };
      const text = Buffer.concat(chunks).toString("utf8");
      let body: Record<string, unknown> | undefined;
      if (text !== "") {
        const type = req.headers["content-type"] ?? "";
        try {
          body = type.includes("application/x-www-form-urlencoded") ? Object.fromEntries(new URLSearchParams(text)) : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          fail(400, `${method} ${parsed.pathname}: body is not JSON`);
          return;
        }
      }
      const endpoint = ENDPOINTS.find((e) => e.method === method && e.pattern.test(parsed.pathname));
      const token = (req.headers["private-token"] ?? req.headers["job-token"]) as string | undefined;
      requests.push({ method, path: parsed.pathname, endpoint: endpoint?.name, body, token });
      if (endpoint === undefined) { fail(404, `${method} ${parsed.pathname}: not an endpoint of the contract`); return; }
      const match = endpoint.pattern.exec(parsed.pathname) ?? [];
      const params: Record<string, string> = {};
      endpoint.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1] ?? "")));
      const problems: string[] = [];
      for (const [name, value] of parsed.searchParams) {
        const field = endpoint.query[name];
        if (field === undefined) problems.push(`query parameter ${name} is not documented`);
        else problems.push(...checkField(`query parameter ${name}`, field, value, true));
      }
      for (const name of ["merge_request_iid", "note_id"]) if (params[name] !== undefined && !/^\d+$/.test(params[name])) problems.push(`${name} must be an integer`);
      if (params.sha !== undefined && !/^[0-9a-f]{40}$/.test(params.sha)) problems.push(`sha must be a commit SHA`);
      if (endpoint.body !== undefined) {
        for (const [name, field] of Object.entries(endpoint.body)) if (field.required === true && (body === undefined || !(name in body))) problems.push(`${name} is required`);
        for (const [name, value] of Object.entries(body ?? {})) {
          const field = endpoint.body[name];
          if (field === undefined) problems.push(`body parameter ${name} is not documented`);
          else problems.push(...checkField(`body parameter ${name}`, field, value, false));
        }
      } else if (body !== undefined) problems.push("takes no body");
      if (problems.length > 0) { fail(400, `${method} ${endpoint.name}: ${problems.join("; ")}`); return; }
      if (token !== options.token) { send(401, { message: "401 Unauthorized" }); return; }
      if (params.id !== String(options.projectId) && params.id !== options.projectPath) { send(404, { message: "404 Project Not Found" }); return; }
      const mr = Number(params.merge_request_iid);
      if (params.merge_request_iid !== undefined && !options.mergeRequests.includes(mr)) { send(404, { message: "404 Not found" }); return; }
      switch (endpoint.name) {
        case "list-mr-notes": {
          const perPage = Math.min(100, Number(parsed.searchParams.get("per_page") ?? "20"));
          const page = Number(parsed.searchParams.get("page") ?? "1");
          const sorted = notes.filter((n) => n.mr === mr).sort((a, b) => (parsed.searchParams.get("sort") === "asc" ? a.id - b.id : b.id - a.id));
          const pages = Math.max(1, Math.ceil(sorted.length / perPage));
          const headers: Record<string, string> = { "x-page": String(page), "x-per-page": String(perPage), "x-total": String(sorted.length), "x-total-pages": String(pages), "x-next-page": page < pages ? String(page + 1) : "" };
          if (page < pages) {
            const next = new URL(`${url}${parsed.pathname}${parsed.search}`);
            next.searchParams.set("page", String(page + 1));
            headers.link = `<${next.href}>; rel="next"`;
          }
          send(200, sorted.slice((page - 1) * perPage, page * perPage).map(noteJson), headers); return;
        }
        case "create-mr-note": {
          const created: StoredNote = { id: nextId++, mr, body: String(body?.body), author: username, system: false };
          notes.push(created);
          send(201, noteJson(created)); return;
        }
        case "edit-mr-note": {
          const existing = notes.find((n) => n.id === Number(params.note_id) && n.mr === mr);
          if (existing === undefined) { send(404, { message: "404 Not found" }); return; }
          if (existing.author !== username) { send(403, { message: "403 Forbidden" }); return; }
          existing.body = String(body?.body);
          send(200, noteJson(existing)); return;
        }
        case "set-commit-status": {
          const status: StoredGitLabStatus = { sha: params.sha ?? "", state: String(body?.state), name: typeof body?.name === "string" ? body.name : "default", description: body?.description as string | undefined, target_url: body?.target_url as string | undefined };
          statuses.push(status);
          send(201, { id: nextId++, sha: status.sha, ref: "feature", status: status.state, name: status.name, target_url: status.target_url ?? null, description: status.description ?? null, created_at: "2026-12-01T00:00:00.000Z", started_at: null, finished_at: null, allow_failure: false, coverage: null, author: { username } }); return;
        }
      }
      fail(404, `${method} ${endpoint.name}: not simulated`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    violations,
    notes,
    statuses,
    seedNote: (mr, body, author, system = false) => {
      const note = { id: nextId++, mr, body, author, system };
      notes.push(note);
      return note;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => { if (error) reject(error); else resolve(); })),
  };
}

/** Checks one value; `fromQuery` values are strings that must parse as the field's type. */
function checkField(what: string, field: Field, value: unknown, fromQuery: boolean): string[] {
  const raw = fromQuery && typeof value === "string" ? value : undefined;
  switch (field.type) {
    case "string":
      if (typeof value !== "string") return [`${what}: expected a string`];
      break;
    case "boolean":
      if (!(typeof value === "boolean" || raw === "true" || raw === "false")) return [`${what}: expected a boolean`];
      break;
    case "integer":
      if (!(Number.isInteger(value) || (raw !== undefined && /^\d+$/.test(raw)))) return [`${what}: expected an integer`];
      break;
    case "number":
      if (!(typeof value === "number" || (raw !== undefined && !Number.isNaN(Number(raw))))) return [`${what}: expected a number`];
      break;
  }
  if (field.enum !== undefined && !field.enum.includes(String(value))) return [`${what}: ${JSON.stringify(value)} is not one of ${field.enum.join(", ")}`];
  return [];
}
