/**
 * A stand-in for api.github.com on 127.0.0.1 (a random port) for contract tests: every request is checked
 * against GitHub's published OpenAPI description (`@octokit/openapi`, api.github.com.json) — method and
 * path template, path and query parameters, the JSON body against the operation's schema — and recorded
 * with its problems. The few operations bosun uses are simulated with plausible answers (issue comments
 * with Link pagination, commit statuses, pull requests and their list, collaborator permissions, reactions
 * on issue comments, GitHub App installation tokens); anything else, and any request that breaks the
 * contract, is answered 404 / 422 and counted as a violation, which the tests assert is empty.
 * GitHub's own limits are enforced too: 65,536 characters per comment body, 140 per status description,
 * and only the author may edit a comment (403 otherwise).
 *
 * Authentication: `POST /app/installations/{installation_id}/access_tokens` takes only `Bearer <JWT>`, an
 * RS256 JWT signed with the app's private key (`iss` the app id, `exp - iat` ≤ 600 s, not expired); every
 * other operation takes `options.token` or an installation token the server issued.
 */
import crypto from "node:crypto";
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

/** A pull request as the server keeps it. */
export interface StoredPull {
  number: number;
  sha: string;
  headRef: string;
  baseRef: string;
  /** `owner/name` of the head repository; another than the base's is a fork. */
  headRepo: string;
  author: string;
  state: "open" | "closed";
}

/** Options of {@link GitHubServer.seedPull}. */
export interface SeedPullOptions {
  headRef?: string;
  /** Default "main". */
  baseRef?: string;
  /** `full_name` of the head repository, default `owner/repo`; another value makes the pull a fork's. */
  headRepo?: string;
  /** Login of the author, default "octocat". */
  author?: string;
  state?: "open" | "closed";
}

/** A repository role as GitHub names it (`role_name`). */
export type GitHubRole = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** A reaction the server recorded. */
export interface StoredReaction {
  commentId: number;
  content: string;
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
  /** Pull requests by number. */
  pulls: Map<number, StoredPull>;
  /** Reactions created on issue comments, in order. */
  reactions: StoredReaction[];
  /** Installation tokens issued by `apps/create-installation-access-token`, in order. */
  installationTokens: string[];
  /** Makes pull request `pr` of `owner/repo` exist with head `sha` (seeding it again replaces it). */
  seedPull: (pr: number, sha: string, options?: SeedPullOptions) => void;
  /** Moves the head of a seeded pull request to `sha` (a push to its branch). */
  setPullHead: (pr: number, sha: string) => void;
  /** Closes a seeded pull request. */
  closePull: (pr: number) => void;
  /** Gives `login` the repository role `role`; a login never seeded has "none". */
  seedPermission: (login: string, role: GitHubRole) => void;
  close: () => Promise<void>;
}

/** The GitHub App the server knows, for JWT and installation-token authentication. */
export interface GitHubAppOptions {
  id: number;
  publicKeyPem: string;
  installationId: number;
}

/** Options of {@link startGitHubServer}. */
export interface GitHubServerOptions {
  owner: string;
  repo: string;
  /** The token bosun must send; anything else is a 401. */
  token: string;
  /** The login the token belongs to: the author of the comments it creates. */
  login?: string;
  /** Accept GitHub App authentication for this app. */
  app?: GitHubAppOptions;
  /** Delay every answer by this much, for realistic round trips. */
  latencyMs?: number;
}

let appKeys: { privateKeyPem: string; publicKeyPem: string } | undefined;

/**
 * An RSA 2048 key pair for a test GitHub App, made once per process: the private key as PKCS#1 PEM
 * ("-----BEGIN RSA PRIVATE KEY-----", the format GitHub hands out; universal-github-app-jwt converts it to
 * PKCS#8 on Node), the public key as SPKI PEM for {@link GitHubAppOptions.publicKeyPem}.
 */
export function testAppKeys(): { privateKeyPem: string; publicKeyPem: string } {
  if (appKeys === undefined) {
    const pair = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
    appKeys = { privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
  }
  return appKeys;
}

/** Longest JWT lifetime GitHub accepts (`exp - iat`), and the clock skew tolerated on `iat`. */
const JWT_MAX_LIFETIME_S = 600;
const JWT_SKEW_S = 60;

/** Why `authorization` is not a valid app JWT for `app`, or undefined when it is. */
export function jwtProblem(authorization: string, app: GitHubAppOptions, nowS: number): string | undefined {
  const match = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/i.exec(authorization);
  if (match === null) return "not a Bearer JWT";
  const [, head = "", payload = "", signature = ""] = match;
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8")) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return "header or payload is not base64url JSON";
  }
  if (header.alg !== "RS256") return `alg ${String(header.alg)} is not RS256`;
  const valid = crypto.verify("RSA-SHA256", Buffer.from(`${head}.${payload}`), app.publicKeyPem, Buffer.from(signature, "base64url"));
  if (!valid) return "signature does not verify with the app's public key";
  if (String(claims.iss) !== String(app.id) || (typeof claims.iss !== "number" && typeof claims.iss !== "string")) return `iss ${JSON.stringify(claims.iss)} is not the app id`;
  const { iat, exp } = claims;
  if (typeof iat !== "number" || typeof exp !== "number") return "iat and exp must be numbers";
  if (exp <= nowS) return "'Expiration time' claim ('exp') is in the past";
  if (iat > nowS + JWT_SKEW_S) return "'Issued at' claim ('iat') is in the future";
  if (exp - iat > JWT_MAX_LIFETIME_S) return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}

/** The base role behind a role name: GitHub's `permission` maps maintain to write and triage to read. */
const BASE_PERMISSION: Record<GitHubRole, string> = { admin: "admin", maintain: "write", write: "write", triage: "read", read: "read", none: "none" };

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
  const pulls = new Map<number, StoredPull>();
  const reactions: (StoredReaction & { id: number; user: string })[] = [];
  const installationTokens: string[] = [];
  // The description of repos/get-collaborator-permission-level says nothing about users who are no
  // collaborators (it lists admin/write/read/none as the base roles), so a login never seeded is "none".
  const permissions = new Map<string, GitHubRole>();
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

  const userJson = (user: string): Record<string, unknown> => ({
    login: user,
    id: user.length,
    node_id: `U_${user}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${user.length}`,
    url: `${url}/users/${user}`,
    html_url: `https://github.com/${user}`,
    type: user.endsWith("[bot]") || user === login ? "Bot" : "User",
    site_admin: false,
  });
  const repoJson = (fullName: string): Record<string, unknown> => ({
    id: fullName.length,
    name: fullName.split("/")[1] ?? fullName,
    full_name: fullName,
    owner: userJson(fullName.split("/")[0] ?? fullName),
    private: false,
    fork: fullName !== `${options.owner}/${options.repo}`,
    html_url: `https://github.com/${fullName}`,
    clone_url: `https://github.com/${fullName}.git`,
    url: `${url}/repos/${fullName}`,
  });
  const pullJson = (p: StoredPull): Record<string, unknown> => {
    const headOwner = p.headRepo.split("/")[0] ?? options.owner;
    return {
      id: 10_000 + p.number,
      node_id: `PR_${p.number}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: `Pull request ${p.number}`,
      body: null,
      draft: false,
      user: userJson(p.author),
      url: `${url}/repos/${options.owner}/${options.repo}/pulls/${p.number}`,
      html_url: `https://github.com/${options.owner}/${options.repo}/pull/${p.number}`,
      head: { sha: p.sha, ref: p.headRef, label: `${headOwner}:${p.headRef}`, user: userJson(headOwner), repo: repoJson(p.headRepo) },
      base: { sha: "0".repeat(40), ref: p.baseRef, label: `${options.owner}:${p.baseRef}`, user: userJson(options.owner), repo: repoJson(`${options.owner}/${options.repo}`) },
      created_at: "2026-12-01T00:00:00Z",
      updated_at: "2026-12-01T00:00:00Z",
      closed_at: p.state === "closed" ? "2026-12-01T00:00:00Z" : null,
      merged_at: null,
      author_association: "CONTRIBUTOR",
    };
  };
  /** Link header and the page's slice of `all`, as GitHub paginates (per_page ≤ 100, default 30). */
  const paginate = <T>(all: T[], parsed: URL): { items: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Number(parsed.searchParams.get("per_page") ?? "30"));
    const page = Number(parsed.searchParams.get("page") ?? "1");
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const headers: Record<string, string> = {};
    if (page < last) {
      const next = new URL(`${url}${parsed.pathname}${parsed.search}`);
      next.searchParams.set("per_page", String(perPage));
      next.searchParams.set("page", String(page + 1));
      const lastUrl = new URL(next);
      lastUrl.searchParams.set("page", String(last));
      headers.link = `<${next.href}>; rel="next", <${lastUrl.href}>; rel="last"`;
    }
    return { items: all.slice((page - 1) * perPage, page * perPage), headers };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (options.latencyMs !== undefined && options.latencyMs > 0) setTimeout(handle, options.latencyMs);
      else handle();
    });
    const handle = (): void => {
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
      const op = check.operation;
      const params = op?.params ?? {};
      if (op === undefined) return;
      const auth = req.headers.authorization ?? "";
      if (op.operationId === "apps/create-installation-access-token") {
        const problem = options.app === undefined ? "the server knows no GitHub App" : jwtProblem(auth, options.app, Math.floor(Date.now() / 1000));
        if (problem !== undefined) { send(401, { message: `A JSON web token could not be decoded: ${problem}`, documentation_url: "https://docs.github.com/rest" }); return; }
        if (Number(params.installation_id) !== options.app?.installationId) { send(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" }); return; }
        const token = `ghs_${crypto.randomBytes(18).toString("base64url")}`;
        installationTokens.push(token);
        send(201, {
          token,
          expires_at: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
          permissions: { contents: "read", metadata: "read", pull_requests: "write", issues: "write", statuses: "write" },
          repository_selection: "all",
        });
        return;
      }
      const accepted = [options.token, ...installationTokens];
      if (!accepted.some((t) => auth === `token ${t}` || auth === `bearer ${t}` || auth === `Bearer ${t}`)) {
        send(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
        return;
      }
      if (params.owner !== options.owner || params.repo !== options.repo) {
        send(404, { message: "Not Found" });
        return;
      }
      const record = (body ?? {}) as Record<string, unknown>;
      switch (op.operationId) {
        case "issues/list-comments": {
          const issue = Number(params.issue_number);
          const { items, headers } = paginate(comments.filter((c) => c.issue === issue), parsed);
          send(200, items.map(commentJson), headers);
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
          const pull = pulls.get(Number(params.pull_number));
          if (pull === undefined) { send(404, { message: "Not Found" }); return; }
          send(200, pullJson(pull)); return;
        }
        case "pulls/list": {
          const state = parsed.searchParams.get("state") ?? "open";
          // GitHub's default order: newest first (sort=created, direction=desc).
          const matching = [...pulls.values()].filter((p) => state === "all" || p.state === state).sort((a, b) => b.number - a.number);
          const { items, headers } = paginate(matching, parsed);
          send(200, items.map(pullJson), headers); return;
        }
        case "repos/get-collaborator-permission-level": {
          const user = params.username ?? "";
          const role = permissions.get(user) ?? "none";
          send(200, { permission: BASE_PERMISSION[role], role_name: role, user: { ...userJson(user), permissions: { admin: role === "admin", maintain: role === "admin" || role === "maintain", push: BASE_PERMISSION[role] === "write" || role === "admin", triage: role !== "read" && role !== "none", pull: role !== "none" }, role_name: role } }); return;
        }
        case "reactions/create-for-issue-comment": {
          const commentId = Number(params.comment_id);
          if (!comments.some((c) => c.id === commentId)) { send(404, { message: "Not Found" }); return; }
          const content = String(record.content);
          const reactionJson = (r: { id: number; content: string; user: string }): Record<string, unknown> => ({ id: r.id, node_id: `REA_${r.id}`, user: userJson(r.user), content: r.content, created_at: "2026-12-01T00:00:00Z" });
          // The same reaction again by the same user: 200 with the existing one, as GitHub answers.
          const existing = reactions.find((r) => r.commentId === commentId && r.content === content && r.user === login);
          if (existing !== undefined) { send(200, reactionJson(existing)); return; }
          const created = { id: nextId++, commentId, content, user: login };
          reactions.push(created);
          send(201, reactionJson(created)); return;
        }
        default:
          { fail(404, `${method} ${op.template} (${op.operationId}): not simulated by the stand-in; bosun is not expected to call it`); return; }
      }
    };
  });
  const seededPull = (pr: number): StoredPull => {
    const pull = pulls.get(pr);
    if (pull === undefined) throw new Error(`pull request ${pr} was never seeded`);
    return pull;
  };
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
    pulls,
    reactions,
    installationTokens,
    seedPull: (pr, sha, seed = {}) => {
      pulls.set(pr, { number: pr, sha, headRef: seed.headRef ?? "feature", baseRef: seed.baseRef ?? "main", headRepo: seed.headRepo ?? `${options.owner}/${options.repo}`, author: seed.author ?? "octocat", state: seed.state ?? "open" });
    },
    setPullHead: (pr, sha) => { seededPull(pr).sha = sha; },
    closePull: (pr) => { seededPull(pr).state = "closed"; },
    seedPermission: (user, role) => { permissions.set(user, role); },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => { if (error) reject(error); else resolve(); })),
  };
}
