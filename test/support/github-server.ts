/**
 * A stand-in for api.github.com on 127.0.0.1 (a random port) for contract tests: every request is checked
 * against GitHub's published OpenAPI description (`@octokit/openapi`, api.github.com.json) — method and
 * path template, path and query parameters, the JSON body against the operation's schema — and recorded
 * with its problems. The few operations bosun uses are simulated with plausible answers (issue comments
 * with Link pagination, commit statuses, a pull request's head); anything else, and any request that
 * breaks the contract, is answered 404 / 422 and counted as a violation, which the tests assert is empty.
 * GitHub's own limits are enforced too: 65,536 characters per comment body, 140 per status description,
 * and only the author may edit a comment (403 otherwise).
 */
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { OpenApiContract } from "./openapi-contract.js";

const require = createRequire(import.meta.url);

/** GitHub's published description, from the `@octokit/openapi` package. */
export const GITHUB_OPENAPI_FILE = path.join(path.dirname(require.resolve("@octokit/openapi/package.json")), "generated", "api.github.com.json");

let contract: OpenApiContract | undefined;

/** The description, parsed once per test file (13 MB). */
export function githubContract(): OpenApiContract {
  contract ??= new OpenApiContract(GITHUB_OPENAPI_FILE);
  return contract;
}

/** One request the server received. */
export interface GitHubRequest {
  method: string;
  path: string;
  query: string;
  operationId: string | undefined;
  body: unknown;
  authorization: string | undefined;
}

/** A comment as the server keeps it. */
export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  user: string;
}

/** A commit status as the server keeps it. */
export interface StoredStatus {
  sha: string;
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
}

/** A running stand-in. */
export interface GitHubServer {
  url: string;
  requests: GitHubRequest[];
  /** Every contract violation seen so far; the tests expect none. */
  violations: string[];
  comments: StoredComment[];
  statuses: StoredStatus[];
  /** Adds a comment by `user` (another bot, a person) to issue `issue`. */
  seedComment: (issue: number, body: string, user: string) => StoredComment;
  /** Makes pull request `pr` of `owner/repo` exist with head `sha`. */
  seedPull: (pr: number, sha: string) => void;
  close: () => Promise<void>;
}

/** Options of {@link startGitHubServer}. */
export interface GitHubServerOptions {
  owner: string;
  repo: string;
  /** The token bosun must send; anything else is a 401. */
  token: string;
  /** The login the token belongs to: the author of the comments it creates. */
  login?: string;
}

const COMMENT_LIMIT = 65_536;
const DESCRIPTION_LIMIT = 140;

/** Starts the stand-in; `close()` it in an afterAll. */
export async function startGitHubServer(options: GitHubServerOptions): Promise<GitHubServer> {
  const api = githubContract();
  const login = options.login ?? "bosun-bot";
  const requests: GitHubRequest[] = [];
  const violations: string[] = [];
  const comments: StoredComment[] = [];
  const statuses: StoredStatus[] = [];
  const pulls = new Map<number, string>();
  let nextId = 1_000;
  let url = "";

  const commentJson = (c: StoredComment): Record<string, unknown> => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${url}/repos/${options.owner}/${options.repo}/issues/comments/${c.id}`,
    html_url: `https://github.com/${options.owner}/${options.repo}/pull/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${url}/repos/${options.owner}/${options.repo}/issues/${c.issue}`,
    body: c.body,
    user: { login: c.user, id: c.user.length, type: c.user.endsWith("[bot]") || c.user === login ? "Bot" : "User" },
    created_at: "2026-12-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    author_association: "NONE",
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
      const text = Buffer.concat(chunks).toString("utf8");
      const send = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
        res.end(value === undefined ? "" : JSON.stringify(value));
      };
      const fail = (status: number, problem: string): void => {
        violations.push(problem);
        send(status, { message: problem, documentation_url: "https://docs.github.com/rest" });
      };
      let body: unknown;
      if (text !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          fail(400, `${req.method ?? ""} ${parsed.pathname}: body is not JSON`);
          return;
        }
      }
      const method = req.method ?? "GET";
      const check = api.check(method, parsed.pathname, parsed.searchParams, body);
      requests.push({ method, path: parsed.pathname, query: parsed.search, operationId: check.operation?.operationId, body, authorization: req.headers.authorization });
      if (check.problems.length > 0) {
        violations.push(...check.problems);
        send(check.operation ? 422 : 404, { message: check.problems.join("; ") });
        return;
      }
      const auth = req.headers.authorization ?? "";
      if (auth !== `token ${options.token}` && auth !== `bearer ${options.token}` && auth !== `Bearer ${options.token}`) {
        send(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
        return;
      }
      const op = check.operation;
      const params = op?.params ?? {};
      if (op === undefined) return;
      if (params.owner !== options.owner || params.repo !== options.repo) {
        send(404, { message: "Not Found" });
        return;
      }
      const record = (body ?? {}) as Record<string, unknown>;
      switch (op.operationId) {
        case "issues/list-comments": {
          const issue = Number(params.issue_number);
          const perPage = Math.min(100, Number(parsed.searchParams.get("per_page") ?? "30"));
          const page = Number(parsed.searchParams.get("page") ?? "1");
          const all = comments.filter((c) => c.issue === issue);
          const last = Math.max(1, Math.ceil(all.length / perPage));
          const headers: Record<string, string> = {};
          if (page < last) {
            const next = new URL(`${url}${parsed.pathname}`);
            next.searchParams.set("per_page", String(perPage));
            next.searchParams.set("page", String(page + 1));
            const lastUrl = new URL(next);
            lastUrl.searchParams.set("page", String(last));
            headers.link = `<${next.href}>; rel="next", <${lastUrl.href}>; rel="last"`;
          }
          send(200, all.slice((page - 1) * perPage, page * perPage).map(commentJson), headers);
          return;
        }
        case "issues/create-comment": {
          const issue = Number(params.issue_number);
          if (!pulls.has(issue)) { send(404, { message: "Not Found" }); return; }
          const text = String(record.body);
          if (text.length > COMMENT_LIMIT) { fail(422, `comment body of ${text.length} characters is over GitHub's limit`); return; }
          const created: StoredComment = { id: nextId++, issue, body: text, user: login };
          comments.push(created);
          send(201, commentJson(created), { location: `${url}/repos/${options.owner}/${options.repo}/issues/comments/${created.id}` }); return;
        }
        case "issues/update-comment": {
          const existing = comments.find((c) => c.id === Number(params.comment_id));
          if (existing === undefined) { send(404, { message: "Not Found" }); return; }
          if (existing.user !== login) { send(403, { message: "Resource not accessible by integration" }); return; }
          const text = String(record.body);
          if (text.length > COMMENT_LIMIT) { fail(422, `comment body of ${text.length} characters is over GitHub's limit`); return; }
          existing.body = text;
          send(200, commentJson(existing)); return;
        }
        case "repos/create-commit-status": {
          const description = typeof record.description === "string" ? record.description : null;
          if (description !== null && Array.from(description).length > DESCRIPTION_LIMIT) { fail(422, `status description of ${description.length} characters is over GitHub's limit`); return; }
          const status: StoredStatus = {
            sha: params.sha ?? "",
            state: String(record.state),
            context: typeof record.context === "string" ? record.context : "default",
            description,
            target_url: typeof record.target_url === "string" ? record.target_url : null,
          };
          statuses.push(status);
          send(201, { id: nextId++, node_id: "SC_1", url: `${url}${parsed.pathname}`, avatar_url: null, ...status, created_at: "2026-12-01T00:00:00Z", updated_at: "2026-12-01T00:00:00Z", creator: { login } }); return;
        }
        case "pulls/get": {
          const sha = pulls.get(Number(params.pull_number));
          if (sha === undefined) { send(404, { message: "Not Found" }); return; }
          send(200, { id: 1, number: Number(params.pull_number), state: "open", head: { sha, ref: "feature", label: `${options.owner}:feature` }, base: { sha: "0".repeat(40), ref: "main" } }); return;
        }
        default:
          { fail(404, `${method} ${op.template} (${op.operationId}): not simulated by the stand-in; bosun is not expected to call it`); return; }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    violations,
    comments,
    statuses,
    seedComment: (issue, body, user) => {
      const created = { id: nextId++, issue, body, user };
      comments.push(created);
      return created;
    },
    seedPull: (pr, sha) => pulls.set(pr, sha),
    close: () => new Promise<void>((resolve, reject) => server.close((error) => { if (error) reject(error); else resolve(); })),
  };
}
