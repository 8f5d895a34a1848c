/**
 * The GitHub and GitLab stand-in servers (test/support/github-server.ts, gitlab-server.ts) driven by the
 * real clients bosun uses — `@octokit/rest`, `@octokit/app`, `@gitbeaker/rest` — so every simulated
 * operation is known to keep the vendor's contract (no violations) and to answer what the client reads.
 */
import crypto from "node:crypto";
import { App } from "@octokit/app";
import { Octokit } from "@octokit/rest";
import { Gitlab } from "@gitbeaker/rest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { jwtProblem, startGitHubServer, testAppKeys, type GitHubServer } from "../../support/github-server.js";
import { startGitLabServer, type GitLabServer } from "../../support/gitlab-server.js";

const TOKEN = "ghp_standinTestToken0123456789";
const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const APP_ID = 4242;
const INSTALLATION = 77;

describe("GitHub stand-in", () => {
  let server: GitHubServer;
  let octokit: Octokit;

  beforeAll(async () => {
    server = await startGitHubServer({ owner: "acme", repo: "fleet", token: TOKEN, app: { id: APP_ID, publicKeyPem: testAppKeys().publicKeyPem, installationId: INSTALLATION } });
    octokit = new Octokit({ baseUrl: server.url, auth: TOKEN });
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    expect(server.violations.splice(0)).toEqual([]);
  });

  it("answers pulls/get with head and base repositories, a fork's too, and follows setPullHead and closePull", async () => {
    server.seedPull(1, A, { headRef: "add-beta", author: "alice" });
    server.seedPull(2, B, { headRef: "patch-1", headRepo: "mallory/fleet", author: "mallory", baseRef: "release" });
    const { data: own } = await octokit.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 1 });
    expect(own).toMatchObject({
      number: 1,
      state: "open",
      title: "Pull request 1",
      user: { login: "alice" },
      head: { sha: A, ref: "add-beta", label: "acme:add-beta", repo: { full_name: "acme/fleet", fork: false, clone_url: "https://github.com/acme/fleet.git" } },
      base: { ref: "main", repo: { full_name: "acme/fleet" } },
      html_url: "https://github.com/acme/fleet/pull/1",
    });
    expect(own.base.sha).toMatch(/^[0-9a-f]{40}$/);
    const { data: fork } = await octokit.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 2 });
    expect(fork).toMatchObject({ user: { login: "mallory" }, head: { label: "mallory:patch-1", repo: { full_name: "mallory/fleet", fork: true } }, base: { ref: "release" } });

    server.setPullHead(1, C);
    server.closePull(2);
    expect((await octokit.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 1 })).data.head.sha).toBe(C);
    expect((await octokit.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 2 })).data.state).toBe("closed");
    await expect(octokit.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 99 })).rejects.toMatchObject({ status: 404 });
    expect(() => { server.setPullHead(99, A); }).toThrow(/never seeded/);
  });

  it("lists pulls by state with Link pagination", async () => {
    for (let pr = 10; pr < 15; pr += 1) server.seedPull(pr, A, { state: pr === 14 ? "closed" : "open" });
    const open = await octokit.paginate(octokit.rest.pulls.list, { owner: "acme", repo: "fleet", state: "open", per_page: 2 });
    expect(open.map((p) => p.number)).toEqual([13, 12, 11, 10, 1]);
    const closed = await octokit.rest.pulls.list({ owner: "acme", repo: "fleet", state: "closed" });
    expect(closed.data.map((p) => p.number)).toEqual([14, 2]);
    const all = await octokit.rest.pulls.list({ owner: "acme", repo: "fleet", state: "all", per_page: 3, page: 1 });
    expect(all.data.map((p) => p.number)).toEqual([14, 13, 12]);
    expect(all.headers.link).toMatch(/rel="next"/);
    expect((await octokit.rest.pulls.list({ owner: "acme", repo: "fleet" })).data.every((p) => p.state === "open")).toBe(true);
  });

  it.each([
    ["admin", "admin"],
    ["maintain", "write"],
    ["write", "write"],
    ["triage", "read"],
    ["read", "read"],
    ["none", "none"],
  ] as const)("answers the permission of a %s collaborator as %s", async (role, permission) => {
    server.seedPermission(`user-${role}`, role);
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "fleet", username: `user-${role}` });
    expect(data).toMatchObject({ permission, role_name: role, user: { login: `user-${role}` } });
  });

  it("answers permission none for a login never seeded", async () => {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "fleet", username: "stranger" });
    expect(data.permission).toBe("none");
  });

  it("records reactions on issue comments, once per content", async () => {
    const comment = server.seedComment(1, "/bosun plan", "mallory");
    const first = await octokit.rest.reactions.createForIssueComment({ owner: "acme", repo: "fleet", comment_id: comment.id, content: "-1" });
    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ content: "-1", user: { login: "bosun-bot" } });
    const again = await octokit.rest.reactions.createForIssueComment({ owner: "acme", repo: "fleet", comment_id: comment.id, content: "-1" });
    expect(again.status).toBe(200);
    await octokit.rest.reactions.createForIssueComment({ owner: "acme", repo: "fleet", comment_id: comment.id, content: "eyes" });
    expect(server.reactions.map((r) => ({ commentId: r.commentId, content: r.content }))).toEqual([
      { commentId: comment.id, content: "-1" },
      { commentId: comment.id, content: "eyes" },
    ]);
    await expect(octokit.rest.reactions.createForIssueComment({ owner: "acme", repo: "fleet", comment_id: 1, content: "eyes" })).rejects.toMatchObject({ status: 404 });
  });

  it("authenticates a GitHub App: JWT for the installation token, the token for everything else", async () => {
    const app = new App({ appId: APP_ID, privateKey: testAppKeys().privateKeyPem, Octokit: Octokit.defaults({ baseUrl: server.url }) });
    const installation = await app.getInstallationOctokit(INSTALLATION);
    const { data } = await installation.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { owner: "acme", repo: "fleet", pull_number: 1 });
    expect(data.number).toBe(1);
    expect(server.installationTokens).toHaveLength(1);
    expect(server.installationTokens[0]).toMatch(/^ghs_/);
    const tokenRequest = server.requests.find((r) => r.operationId === "apps/create-installation-access-token");
    expect(tokenRequest?.authorization).toMatch(/^bearer /i);
    const later = server.requests.at(-1);
    expect(later?.authorization).toBe(`token ${server.installationTokens[0] ?? ""}`);
    // The installation token answers a plain Octokit too.
    const plain = new Octokit({ baseUrl: server.url, auth: server.installationTokens[0] });
    expect((await plain.rest.pulls.list({ owner: "acme", repo: "fleet" })).status).toBe(200);
  });

  it("answers 401 to a bad JWT, a wrong installation 404, and refuses a JWT anywhere else", async () => {
    const bad = new Octokit({ baseUrl: server.url, auth: "not-a-jwt" });
    await expect(bad.rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION })).rejects.toMatchObject({ status: 401 });
    const issued = server.installationTokens.length;
    const app = new App({ appId: APP_ID, privateKey: testAppKeys().privateKeyPem, Octokit: Octokit.defaults({ baseUrl: server.url }) });
    const elsewhere = await app.getInstallationOctokit(INSTALLATION + 1);
    await expect(elsewhere.request("GET /repos/{owner}/{repo}/pulls", { owner: "acme", repo: "fleet" })).rejects.toMatchObject({ status: 404 });
    const impostor = new App({ appId: APP_ID, privateKey: otherKeyPem(), Octokit: Octokit.defaults({ baseUrl: server.url }) });
    const refused = await impostor.getInstallationOctokit(INSTALLATION);
    await expect(refused.request("GET /repos/{owner}/{repo}/pulls", { owner: "acme", repo: "fleet" })).rejects.toMatchObject({ status: 401 });
    expect(server.installationTokens).toHaveLength(issued);
    const jwt = jwtFor({ iss: APP_ID, iat: now() - 30, exp: now() + 500 });
    const asApp = new Octokit({ baseUrl: server.url, auth: jwt });
    await expect(asApp.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 1 })).rejects.toMatchObject({ status: 401 });
  });

  it.each([
    ["a valid JWT", { iss: APP_ID, iat: now() - 30, exp: now() + 570 }, undefined, undefined],
    ["iss as a string", { iss: String(APP_ID), iat: now() - 30, exp: now() + 570 }, undefined, undefined],
    ["another app's iss", { iss: APP_ID + 1, iat: now() - 30, exp: now() + 570 }, undefined, /iss/],
    ["an expired JWT", { iss: APP_ID, iat: now() - 700, exp: now() - 100 }, undefined, /past/],
    ["a lifetime over 600 s", { iss: APP_ID, iat: now() - 30, exp: now() + 600 }, undefined, /too far/],
    ["an iat in the future", { iss: APP_ID, iat: now() + 300, exp: now() + 600 }, undefined, /future/],
    ["HS256", { iss: APP_ID, iat: now() - 30, exp: now() + 500 }, "HS256", /RS256/],
    ["another key", { iss: APP_ID, iat: now() - 30, exp: now() + 500 }, "other-key", /signature/],
  ] as const)("checks the JWT: %s", (_, claims, variant, problem) => {
    const token = jwtFor(claims, variant);
    const result = jwtProblem(`Bearer ${token}`, { id: APP_ID, publicKeyPem: testAppKeys().publicKeyPem, installationId: INSTALLATION }, now());
    if (problem === undefined) expect(result).toBeUndefined();
    else expect(result).toMatch(problem);
  });

  it("delays every answer by latencyMs", async () => {
    const slow = await startGitHubServer({ owner: "acme", repo: "fleet", token: TOKEN, latencyMs: 150 });
    try {
      slow.seedPull(1, A);
      const client = new Octokit({ baseUrl: slow.url, auth: TOKEN });
      const started = performance.now();
      await client.rest.pulls.get({ owner: "acme", repo: "fleet", pull_number: 1 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(slow.violations).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});

describe("GitLab stand-in", () => {
  let server: GitLabServer;
  let gitlab: InstanceType<typeof Gitlab>;

  beforeAll(async () => {
    server = await startGitLabServer({ projectId: 42, projectPath: "platform/fleet", mergeRequests: [3], token: TOKEN });
    gitlab = new Gitlab({ host: server.url, token: TOKEN });
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    expect(server.violations.splice(0)).toEqual([]);
  });

  it("answers a merge request, a fork's too", async () => {
    server.seedMergeRequest(5, A, { author: "alice" });
    server.seedMergeRequest(6, B, { sourceProjectId: 99, author: "mallory" });
    const own = await gitlab.MergeRequests.show(42, 5);
    expect(own).toMatchObject({ iid: 5, project_id: 42, state: "opened", sha: A, source_project_id: 42, target_project_id: 42, target_branch: "main", author: { username: "alice" }, diff_refs: { head_sha: A } });
    expect(own.web_url).toBe(`${server.url}/platform/fleet/-/merge_requests/5`);
    const fork = await gitlab.MergeRequests.show("platform/fleet", 6);
    expect(fork).toMatchObject({ source_project_id: 99, author: { username: "mallory" } });
    await expect(gitlab.MergeRequests.show(42, 404)).rejects.toMatchObject({ cause: { response: { status: 404 } } });
  });

  it("lists merge requests by state, paginated", async () => {
    for (let iid = 10; iid < 15; iid += 1) server.seedMergeRequest(iid, C, { state: iid === 14 ? "merged" : iid === 13 ? "closed" : "opened" });
    const opened = await gitlab.MergeRequests.all({ projectId: 42, state: "opened", perPage: 2 });
    expect(opened.map((m) => m.iid)).toEqual([12, 11, 10, 6, 5, 3]);
    const merged = await gitlab.MergeRequests.all({ projectId: 42, state: "merged" });
    expect(merged.map((m) => m.iid)).toEqual([14]);
    const page = await gitlab.MergeRequests.all({ projectId: 42, perPage: 3, page: 1, showExpanded: true });
    expect(page.data.map((m) => m.iid)).toEqual([14, 13, 12]);
    expect(page.paginationInfo).toMatchObject({ next: 2, total: 8 });
  });

  it("answers a member's access level and 404 for a stranger", async () => {
    server.seedMember(7, "alice", 30);
    const member = await gitlab.ProjectMembers.show(42, 7, { includeInherited: true });
    expect(member).toMatchObject({ id: 7, username: "alice", access_level: 30 });
    await expect(gitlab.ProjectMembers.show(42, 8, { includeInherited: true })).rejects.toMatchObject({ cause: { response: { status: 404 } } });
  });

  it("records emoji awarded to a merge request note", async () => {
    const note = server.seedNote(3, "/bosun plan", "mallory");
    const award = await gitlab.MergeRequestNoteAwardEmojis.award(42, 3, note.id, "thumbsdown");
    expect(award).toMatchObject({ name: "thumbsdown", awardable_id: note.id, awardable_type: "Note", user: { username: "bosun-bot" } });
    expect(server.awards).toMatchObject([{ mr: 3, noteId: note.id, name: "thumbsdown" }]);
    await expect(gitlab.MergeRequestNoteAwardEmojis.award(42, 3, 1, "eyes")).rejects.toMatchObject({ cause: { response: { status: 404 } } });
  });

  it("delays every answer by latencyMs", async () => {
    const slow = await startGitLabServer({ projectId: 42, projectPath: "platform/fleet", mergeRequests: [3], token: TOKEN, latencyMs: 150 });
    try {
      const client = new Gitlab({ host: slow.url, token: TOKEN });
      const started = performance.now();
      await client.MergeRequests.show(42, 3);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(slow.violations).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** An RS256 JWT signed with the test app's key, or broken as `variant` says. */
function jwtFor(claims: Record<string, unknown>, variant?: "HS256" | "other-key"): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = encode({ alg: variant === "HS256" ? "HS256" : "RS256", typ: "JWT" });
  const payload = encode(claims);
  const key = variant === "other-key" ? otherKeyPem() : testAppKeys().privateKeyPem;
  const signature = variant === "HS256" ? crypto.createHmac("sha256", "secret").update(`${head}.${payload}`).digest() : crypto.sign("RSA-SHA256", Buffer.from(`${head}.${payload}`), key);
  return `${head}.${payload}.${signature.toString("base64url")}`;
}

let otherKey: string | undefined;

/** A second RSA key (PKCS#1 PEM), not the test app's. */
function otherKeyPem(): string {
  otherKey ??= crypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } }).privateKey;
  return otherKey;
}
