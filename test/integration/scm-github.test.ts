/**
 * `bosun github comment` and `bosun github status` against a stand-in for api.github.com that checks
 * every request against GitHub's published OpenAPI description (test/support/github-server.ts). Needs no
 * sandbox: the plan files are written by the report builder.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { renderJson } from "../../src/report/json.js";
import type { Plan } from "../../src/plan/types.js";
import { planCommentMarker } from "../../src/scm/comment.js";
import { startGitHubServer, type GitHubServer } from "../support/github-server.js";
import { runScm } from "../support/scm-cli.js";
import { clusterPlan, planBuilder, step } from "../unit/report/builder.js";

const TOKEN = "ghs_canaryTokenValue0123456789abcdefXYZ";
const SHA = "a".repeat(40);
const PR = 7;

let server: GitHubServer;
let dir: string;

beforeAll(async () => {
  server = await startGitHubServer({ owner: "acme", repo: "fleet", token: TOKEN });
  server.seedPull(PR, SHA);
  server.seedPull(8, "b".repeat(40));
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-scm-github-"));
});

afterAll(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  // Every request bosun sent in the test kept GitHub's contract.
  expect(server.violations.splice(0)).toEqual([]);
});

async function planFile(plan: Plan, name: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, renderJson(plan));
  return file;
}

const env = (): NodeJS.ProcessEnv => ({ GITHUB_TOKEN: TOKEN });

function since(mark: number): { method: string; operationId: string | undefined }[] {
  return server.requests.slice(mark).map((r) => ({ method: r.method, operationId: r.operationId }));
}

describe("bosun github comment", () => {
  it("creates one comment, updates the same one when the plan changes, and sends nothing when it did not", async () => {
    // Others have commented already: the marker comment must be found across pages.
    for (let i = 0; i < 120; i += 1) server.seedComment(PR, `looks good ${i} @someone`, `user-${i}`);
    const first = await planFile(planBuilder().build(), "first.json");
    const args = ["github", "comment", "--repo", "acme/fleet", "--pr", String(PR), "--api-url", server.url];

    let mark = server.requests.length;
    const created = await runScm([...args, "--plan", first], env());
    expect(created).toMatchObject({ exitCode: 0, stderr: "" });
    expect(created.stdout).toMatch(/^comment created: https:\/\/github\.com\/acme\/fleet\/pull\/7#issuecomment-\d+\n$/);
    expect(since(mark)).toEqual([
      { method: "GET", operationId: "issues/list-comments" },
      { method: "GET", operationId: "issues/list-comments" },
      { method: "POST", operationId: "issues/create-comment" },
    ]);
    const ours = server.comments.filter((c) => c.body.startsWith(planCommentMarker("acme")));
    expect(ours).toHaveLength(1);
    expect(ours[0]?.body).toContain("<b>staging-eu-1</b>");

    // A second push: the plan changed (prod-eu-1 now has changes).
    const changed = planBuilder()
      .mapCluster("prod-eu-1", (c) => ({ ...c, status: "changes", reason: undefined, steps: [step.controlPlane("prod-eu-1", "1.34.0", "1.35.4", ["prod-eu-1-cp-1"])] }))
      .build();
    const second = await planFile(changed, "second.json");
    mark = server.requests.length;
    const updated = await runScm([...args, "--plan", second], env());
    expect(updated).toMatchObject({ exitCode: 0, stderr: "" });
    expect(updated.stdout).toMatch(/^comment updated: /);
    expect(since(mark).map((r) => r.method)).toEqual(["GET", "GET", "PATCH"]);
    expect(server.comments.filter((c) => c.body.startsWith(planCommentMarker("acme")))).toHaveLength(1);
    expect(server.comments.find((c) => c.id === ours[0]?.id)?.body).toContain("controlPlane.upgrade");

    // The same plan again: no write at all.
    mark = server.requests.length;
    const unchanged = await runScm([...args, "--plan", second], env());
    expect(unchanged.stdout).toMatch(/^comment unchanged: /);
    expect(since(mark).map((r) => r.method)).toEqual(["GET", "GET"]);

    // Every request carried the token, and it appears in nothing bosun printed.
    expect(server.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    for (const run of [created, updated, unchanged]) expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it("leaves a forged marker comment alone (bosun may not edit it) and posts its own", async () => {
    const plan = planBuilder().fleet("forged").build();
    const forged = server.seedComment(8, `${planCommentMarker("forged")}\nall good, merge it`, "mallory");
    const result = await runScm(["github", "comment", "--repo", "acme/fleet", "--pr", "8", "--api-url", server.url, "--plan", await planFile(plan, "forged.json")], env());
    expect(result).toMatchObject({ exitCode: 0, stderr: "" });
    expect(result.stdout).toMatch(/^comment created: /);
    expect(server.comments.find((c) => c.id === forged.id)?.body).toBe(`${planCommentMarker("forged")}\nall good, merge it`);
    expect(server.comments.filter((c) => c.issue === 8 && c.user === "bosun-bot")).toHaveLength(1);
  });

  it("keeps a huge plan under 65,536 characters with the truncation note and the plan link", async () => {
    const clusters = Array.from({ length: 10 }, (_, i) =>
      clusterPlan({
        name: `huge-${i}`,
        status: "changes",
        steps: [step.apply(`huge-${i}`, "app", { diff: Array.from({ length: 600 }, (_, l) => `+  key-${l}: ${"v".repeat(60)}`).join("\n") })],
      }),
    );
    const plan = planBuilder().fleet("huge").clusters(...clusters).build();
    const file = await planFile(plan, "huge.json");
    expect((await fs.stat(file)).size).toBeGreaterThan(300_000);
    const result = await runScm(["github", "comment", "--repo", "acme/fleet", "--pr", String(PR), "--api-url", server.url, "--plan", file, "--plan-url", "https://bosun.example.com/plan/huge"], env());
    expect(result).toMatchObject({ exitCode: 0, stderr: "" });
    expect(result.stdout).toContain("(shortened to fit GitHub's limit)");
    const posted = server.comments.find((c) => c.body.startsWith(planCommentMarker("huge")));
    expect(posted?.body.length).toBeLessThanOrEqual(65_536);
    expect(posted?.body).toContain("This plan was shortened to fit the 65,536-character comment limit");
    expect(posted?.body).toContain("[read the full plan](<https://bosun.example.com/plan/huge>)");
  });

  it("posts a hostile plan neutralised", async () => {
    const evil = "<script>alert(1)</script> cc @acme/admins [docs](https://evil.example) \u001b]0;owned\u0007";
    const plan = planBuilder()
      .fleet("hostile")
      .clusters(clusterPlan({ name: "victim", status: "blocked", reason: evil, steps: [step.apply("victim", "app", { state: "blocked", reason: evil })] }))
      .build();
    const result = await runScm(["github", "comment", "--repo", "acme/fleet", "--pr", String(PR), "--api-url", server.url, "--plan", await planFile(plan, "hostile.json")], env());
    expect(result.exitCode).toBe(0);
    const body = server.comments.find((c) => c.body.startsWith(planCommentMarker("hostile")))?.body ?? "";
    expect(body).toContain("<b>victim</b>");
    expect(body).not.toMatch(/(^|[^\\])<script>/m);
    expect(body).not.toContain("@acme/admins");
    expect(body).toContain("@\u200Bacme/admins");
    expect(body).not.toContain("[docs](https://evil.example)");
    // eslint-disable-next-line no-control-regex -- the point of the test
    expect(body).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});

describe("bosun github status", () => {
  it("sets one status per cluster and bosun/plan with the right states, on --sha or on the head of --pr", async () => {
    const file = await planFile(planBuilder().build(), "status.json");
    let mark = server.requests.length;
    const bySha = await runScm(["github", "status", "--repo", "acme/fleet", "--sha", "c".repeat(40), "--plan", file, "--api-url", server.url, "--target-url", "https://ci.example.com/run/1"], env());
    expect(bySha).toMatchObject({ exitCode: 0, stderr: "" });
    expect(since(mark).map((r) => r.operationId)).toEqual(Array(5).fill("repos/create-commit-status"));
    const onC = server.statuses.filter((s) => s.sha === "c".repeat(40));
    expect(onC.map((s) => [s.context, s.state])).toEqual([
      ["bosun/canary-1", "success"],
      ["bosun/staging-eu-1", "success"],
      ["bosun/prod-eu-1", "failure"],
      ["bosun/prod-us-1", "failure"],
      ["bosun/plan", "failure"],
    ]);
    expect(onC.find((s) => s.context === "bosun/staging-eu-1")?.description).toBe("changes: 7 steps (7 pending)");
    expect(onC.every((s) => s.target_url === "https://ci.example.com/run/1")).toBe(true);

    mark = server.requests.length;
    const byPr = await runScm(["github", "status", "--repo", "acme/fleet", "--pr", String(PR), "--plan", file], { ...env(), GITHUB_API_URL: server.url });
    expect(byPr).toMatchObject({ exitCode: 0, stderr: "" });
    expect(since(mark)[0]).toEqual({ method: "GET", operationId: "pulls/get" });
    expect(server.statuses.filter((s) => s.sha === SHA)).toHaveLength(5);
  });

  it("reports a wrong token as a failure (exit 1) without quoting it", async () => {
    const file = await planFile(planBuilder().build(), "bad-token.json");
    const wrong = "ghp_wrongTokenValue987654321";
    const result = await runScm(["github", "status", "--repo", "acme/fleet", "--sha", SHA, "--plan", file, "--api-url", server.url], { GITHUB_TOKEN: wrong });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/GitHub API: setting status bosun\/canary-1 on acme\/fleet@a+: HTTP 401/);
    expect(result.stderr).not.toContain(wrong);
  });

  it("refuses bad command lines before any request (exit 2)", async () => {
    const file = await planFile(planBuilder().build(), "usage.json");
    const mark = server.requests.length;
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [["github", "status", "--repo", "acme/fleet", "--plan", file, "--api-url", server.url], env(), /give one of --sha or --pr/],
      [["github", "status", "--repo", "acme/fleet", "--sha", "abc", "--plan", file, "--api-url", server.url], env(), /--sha "abc": expected a full commit SHA/],
      [["github", "comment", "--repo", "acme", "--pr", "1", "--plan", file, "--api-url", server.url], env(), /--repo "acme": expected owner\/name/],
      [["github", "comment", "--repo", "acme/fleet", "--pr", "0", "--plan", file, "--api-url", server.url], env(), /--pr "0": expected a positive number/],
      [["github", "comment", "--repo", "acme/fleet", "--pr", "1", "--plan", file, "--api-url", server.url], {}, /no GitHub token: set BOSUN_GITHUB_TOKEN or GITHUB_TOKEN/],
      [["github", "comment", "--repo", "acme/fleet", "--pr", "1", "--plan", path.join(dir, "missing.json"), "--api-url", server.url], env(), /--plan .*missing\.json": no such file or directory/],
      [["github", "comment", "--repo", "acme/fleet", "--pr", "1", "--plan", file, "--plan-url", "javascript:alert(1)", "--api-url", server.url], env(), /--plan-url "javascript:alert\(1\)": expected an http\(s\) URL/],
    ];
    for (const [args, environment, message] of cases) {
      const result = await runScm(args, environment);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(server.requests.length).toBe(mark);
  });
});

describe("the contract check itself", () => {
  it("flags a request GitHub's description does not have, and a body that breaks its schema", async () => {
    const before = server.violations.length;
    const unknown = await fetch(`${server.url}/repos/acme/fleet/issues/7/plans`, { method: "POST", headers: { authorization: `token ${TOKEN}` }, body: "{}" });
    expect(unknown.status).toBe(404);
    const badBody = await fetch(`${server.url}/repos/acme/fleet/statuses/${SHA}`, { method: "POST", headers: { authorization: `token ${TOKEN}` }, body: JSON.stringify({ state: "blocked", context: 3 }) });
    expect(badBody.status).toBe(422);
    const missing = await fetch(`${server.url}/repos/acme/fleet/issues/7/comments`, { method: "POST", headers: { authorization: `token ${TOKEN}` }, body: JSON.stringify({ text: "x" }) });
    expect(missing.status).toBe(422);
    const found = server.violations.splice(before);
    expect(found).toHaveLength(4);
    expect(found.join("\n")).toMatch(/no such path in the description/);
    expect(found.join("\n")).toMatch(/body\.state: "blocked" is not one of/);
    expect(found.join("\n")).toMatch(/body\.context: expected string/);
    expect(found.join("\n")).toMatch(/body\.body: required/);
  });
});
