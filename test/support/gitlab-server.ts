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
 * - Merge requests, https://docs.gitlab.com/api/merge_requests/ :
 *   `GET /projects/:id/merge_requests` (query `state` opened|closed|locked|merged|all, `order_by`, `sort`
 *   asc|desc, `scope` created_by_me|assigned_to_me|reviews_for_me|all, `source_branch`, `target_branch`, `author_id` integer, `author_username`, `labels`,
 *   `search`, `view` simple, `page`, `per_page`);
 *   `GET /projects/:id/merge_requests/:merge_request_iid` (query `render_html`,
 *   `include_diverged_commits_count`, `include_rebase_in_progress` booleans).
 * - Members, https://docs.gitlab.com/api/members/#get-a-member-of-a-group-or-project-including-inherited-and-invited-members :
 *   `GET /projects/:id/members/all/:user_id` (no query; 404 when the user is no member, direct or inherited).
 * - Emoji reactions, https://docs.gitlab.com/api/emoji_reactions/#add-a-new-emoji-reaction-to-a-comment :
 *   `POST /projects/:id/merge_requests/:merge_request_iid/notes/:note_id/award_emoji` (`name` string,
 *   required: the emoji's name without colons).
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
    name: "list-mrs",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/merge_requests$/,
    names: ["id"],
    query: {
      ...PAGINATION,
      state: { type: "string", enum: ["opened", "closed", "locked", "merged", "all"] },
      order_by: { type: "string" },
      sort: { type: "string", enum: ["asc", "desc"] },
      scope: { type: "string", enum: ["created_by_me", "assigned_to_me", "reviews_for_me", "all"] },
      source_branch: { type: "string" },
      target_branch: { type: "string" },
      author_id: { type: "integer" },
      author_username: { type: "string" },
      labels: { type: "string" },
      search: { type: "string" },
      view: { type: "string", enum: ["simple"] },
    },
  },
  {
    method: "GET",
    name: "get-mr",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/([^/]+)$/,
    names: ["id", "merge_request_iid"],
    query: { render_html: { type: "boolean" }, include_diverged_commits_count: { type: "boolean" }, include_rebase_in_progress: { type: "boolean" } },
  },
  {
    method: "GET",
    name: "get-member-all",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/members\/all\/([^/]+)$/,
    names: ["id", "user_id"],
    query: {},
  },
  {
    method: "POST",
    name: "award-mr-note-emoji",
    pattern: /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/([^/]+)\/notes\/([^/]+)\/award_emoji$/,
    names: ["id", "merge_request_iid", "note_id"],
    query: {},
    body: { name: { type: "string", required: true } },
  },
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

/** A merge request as the server keeps it. */
export interface StoredMergeRequest {
  iid: number;
  sha: string;
  sourceProjectId: number;
  author: string;
  state: "opened" | "closed" | "merged";
}

/** Options of {@link GitLabServer.seedMergeRequest}. */
export interface SeedMergeRequestOptions {
  /** The project the source branch lives in, default the project itself; another id is a fork. */
  sourceProjectId?: number;
  /** Username of the author, default "alice". */
  author?: string;
  state?: "opened" | "closed" | "merged";
}

/** A project member (direct or inherited) as the server keeps it. */
export interface StoredMember {
  id: number;
  username: string;
  /** 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner. */
  access_level: number;
}

/** An emoji reaction the server recorded on a merge request note. */
export interface StoredAward {
  id: number;
  mr: number;
  noteId: number;
  name: string;
  user: string;
}

/** A running stand-in. */
export interface GitLabServer {
  url: string;
  requests: GitLabRequest[];
  violations: string[];
  notes: StoredNote[];
  statuses: StoredGitLabStatus[];
  /** Merge requests by IID; those of `options.mergeRequests` are open with head `0…0` until seeded. */
  mergeRequests: Map<number, StoredMergeRequest>;
  /** Emoji reactions awarded to notes, in order. */
  awards: StoredAward[];
  seedNote: (mr: number, body: string, author: string, system?: boolean) => StoredNote;
  /** Makes merge request `iid` exist with head `sha` (seeding it again replaces it). */
  seedMergeRequest: (iid: number, sha: string, options?: SeedMergeRequestOptions) => void;
  /** Makes user `userId` a member of the project with `accessLevel`. */
  seedMember: (userId: number, username: string, accessLevel: number) => void;
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
  /** Delay every answer by this much, for realistic round trips. */
  latencyMs?: number;
}

/** Starts the stand-in; `close()` it in an afterAll. */
export async function startGitLabServer(options: GitLabServerOptions): Promise<GitLabServer> {
  const username = options.username ?? "bosun-bot";
  const requests: GitLabRequest[] = [];
  const violations: string[] = [];
  const notes: StoredNote[] = [];
  const statuses: StoredGitLabStatus[] = [];
  const mergeRequests = new Map<number, StoredMergeRequest>();
  for (const iid of options.mergeRequests) mergeRequests.set(iid, { iid, sha: "0".repeat(40), sourceProjectId: options.projectId, author: "alice", state: "opened" });
  const members = new Map<number, StoredMember>();
  const awards: StoredAward[] = [];
  let nextId = 500;
  let url = "";
  const userJson = (name: string): Record<string, unknown> => ({ id: name.length, username: name, name, state: "active", avatar_url: null, web_url: `${url}/${name}` });
  const mrJson = (m: StoredMergeRequest): Record<string, unknown> => ({
    id: 9_000 + m.iid,
    iid: m.iid,
    project_id: options.projectId,
    title: `Merge request ${m.iid}`,
    description: "",
    state: m.state,
    draft: false,
    created_at: "2026-12-01T00:00:00.000Z",
    updated_at: "2026-12-01T00:00:00.000Z",
    merged_at: m.state === "merged" ? "2026-12-01T00:00:00.000Z" : null,
    closed_at: m.state === "closed" ? "2026-12-01T00:00:00.000Z" : null,
    target_branch: "main",
    source_branch: `feature-${m.iid}`,
    source_project_id: m.sourceProjectId,
    target_project_id: options.projectId,
    author: userJson(m.author),
    sha: m.sha,
    merge_status: "can_be_merged",
    detailed_merge_status: "mergeable",
    references: { short: `!${m.iid}`, relative: `!${m.iid}`, full: `${options.projectPath}!${m.iid}` },
    web_url: `${url}/${options.projectPath}/-/merge_requests/${m.iid}`,
    diff_refs: { base_sha: "0".repeat(40), head_sha: m.sha, start_sha: "0".repeat(40) },
  });
  const memberJson = (m: StoredMember): Record<string, unknown> => ({ ...userJson(m.username), id: m.id, access_level: m.access_level, created_at: "2026-12-01T00:00:00.000Z", expires_at: null, membership_state: "active" });
  const awardJson = (a: StoredAward): Record<string, unknown> => ({ id: a.id, name: a.name, user: userJson(a.user), created_at: "2026-12-01T00:00:00.000Z", updated_at: "2026-12-01T00:00:00.000Z", awardable_id: a.noteId, awardable_type: "Note" });
  /** GitLab's offset pagination: the page's slice and its X-* and Link headers (per_page ≤ 100, default 20). */
  const paginate = <T>(all: T[], parsed: URL): { items: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Number(parsed.searchParams.get("per_page") ?? "20"));
    const page = Number(parsed.searchParams.get("page") ?? "1");
    const pages = Math.max(1, Math.ceil(all.length / perPage));
    const headers: Record<string, string> = { "x-page": String(page), "x-per-page": String(perPage), "x-total": String(all.length), "x-total-pages": String(pages), "x-next-page": page < pages ? String(page + 1) : "" };
    if (page < pages) {
      const next = new URL(`${url}${parsed.pathname}${parsed.search}`);
      next.searchParams.set("page", String(page + 1));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return { items: all.slice((page - 1) * perPage, page * perPage), headers };
  };
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
      if (options.latencyMs !== undefined && options.latencyMs > 0) setTimeout(handle, options.latencyMs);
      else handle();
    });
    const handle = (): void => {
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
      for (const name of ["merge_request_iid", "note_id", "user_id"]) if (params[name] !== undefined && !/^\d+$/.test(params[name])) problems.push(`${name} must be an integer`);
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
      const mergeRequest = mergeRequests.get(mr);
      if (params.merge_request_iid !== undefined && mergeRequest === undefined) { send(404, { message: "404 Not found" }); return; }
      switch (endpoint.name) {
        case "list-mr-notes": {
          const sorted = notes.filter((n) => n.mr === mr).sort((a, b) => (parsed.searchParams.get("sort") === "asc" ? a.id - b.id : b.id - a.id));
          const { items, headers } = paginate(sorted, parsed);
          send(200, items.map(noteJson), headers); return;
        }
        case "list-mrs": {
          const state = parsed.searchParams.get("state") ?? "all";
          // GitLab's default order: created_at desc, newest first.
          const matching = [...mergeRequests.values()].filter((m) => state === "all" || m.state === state).sort((a, b) => b.iid - a.iid);
          const { items, headers } = paginate(matching, parsed);
          send(200, items.map(mrJson), headers); return;
        }
        case "get-mr": {
          if (mergeRequest !== undefined) { send(200, mrJson(mergeRequest)); return; }
          break;
        }
        case "get-member-all": {
          const member = members.get(Number(params.user_id));
          if (member === undefined) { send(404, { message: "404 Not found" }); return; }
          send(200, memberJson(member)); return;
        }
        case "award-mr-note-emoji": {
          const note = notes.find((n) => n.id === Number(params.note_id) && n.mr === mr);
          if (note === undefined) { send(404, { message: "404 Not found" }); return; }
          const name = String(body?.name);
          // Awarding the same emoji twice is refused by GitLab ("has already been taken").
          if (awards.some((a) => a.noteId === note.id && a.name === name && a.user === username)) { send(404, { message: "404 Award Emoji Name has already been taken" }); return; }
          const created: StoredAward = { id: nextId++, mr, noteId: note.id, name, user: username };
          awards.push(created);
          send(201, awardJson(created)); return;
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
    };
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    violations,
    notes,
    statuses,
    mergeRequests,
    awards,
    seedMergeRequest: (iid, sha, seed = {}) => {
      mergeRequests.set(iid, { iid, sha, sourceProjectId: seed.sourceProjectId ?? options.projectId, author: seed.author ?? "alice", state: seed.state ?? "opened" });
    },
    seedMember: (userId, name, accessLevel) => { members.set(userId, { id: userId, username: name, access_level: accessLevel }); },
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
