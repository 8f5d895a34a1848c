/**
 * `bosun gitlab note` and `bosun gitlab status` against a stand-in GitLab (test/support/gitlab-server.ts),
 * which checks method, path and parameters against the REST endpoints GitLab documents for merge-request
 * notes and commit statuses (the documentation pages are cited there). Needs no sandbox.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../src/plan/types.js";
import { renderJson } from "../../src/report/json.js";
import { planCommentMarker } from "../../src/scm/comment.js";
import { startGitLabServer, type GitLabServer } from "../support/gitlab-server.js";
import { runScm } from "../support/scm-cli.js";
import { clusterPlan, planBuilder, step } from "../unit/report/builder.js";

const TOKEN = "glpat-canaryTokenValue0123456789";
const SHA = "d".repeat(40);

let server: GitLabServer;
let dir: string;

beforeAll(async () => {
  server = await startGitLabServer({ projectId: 42, projectPath: "platform/fleet", mergeRequests: [3, 4], token: TOKEN });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-scm-gitlab-"));
});

afterAll(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(server.violations.splice(0)).toEqual([]);
});

async function planFile(plan: Plan, name: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, renderJson(plan));
  return file;
}

function since(mark: number): string[] {
  return server.requests.slice(mark).map((r) => `${r.method} ${r.endpoint ?? r.path}`);
}

describe("bosun gitlab note", () => {
  it("creates one note, edits the same one when the plan changes, and sends nothing when it did not", async () => {
    for (let i = 0; i < 130; i += 1) server.seedNote(3, i % 2 === 0 ? "added 1 commit" : `comment ${i}`, `user-${i}`, i % 2 === 0);
    // A system note that happens to quote the marker is never taken for bosun's.
    server.seedNote(3, `${planCommentMarker("acme")}\nquoted`, "gitlab", true);
    const args = ["gitlab", "note", "--project", "platform/fleet", "--mr", "3", "--host", server.url];
    const env = { BOSUN_GITLAB_TOKEN: TOKEN };

    let mark = server.requests.length;
    const created = await runScm([...args, "--plan", await planFile(planBuilder().build(), "one.json")], env);
    expect(created).toMatchObject({ exitCode: 0, stderr: "" });
    expect(created.stdout).toMatch(/^note created: \d+\n$/);
    expect(since(mark)).toEqual(["GET list-mr-notes", "GET list-mr-notes", "POST create-mr-note"]);
    const ours = (): typeof server.notes => server.notes.filter((n) => !n.system && n.body.startsWith(planCommentMarker("acme")));
    expect(ours()).toHaveLength(1);
    expect(ours()[0]?.body).toContain("<b>prod-eu-1</b>");

    const changed = planBuilder().mapCluster("canary-1", (c) => ({ ...c, status: "changes", steps: [step.schedule("canary-1")] })).build();
    const file = await planFile(changed, "two.json");
    mark = server.requests.length;
    const edited = await runScm([...args, "--plan", file], env);
    expect(edited.stdout).toMatch(/^note updated: /);
    expect(since(mark)).toEqual(["GET list-mr-notes", "GET list-mr-notes", "PUT edit-mr-note"]);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]?.body).toContain("backup.schedule");

    mark = server.requests.length;
    const unchanged = await runScm([...args, "--plan", file], env);
    expect(unchanged.stdout).toMatch(/^note unchanged: /);
    expect(since(mark)).toEqual(["GET list-mr-notes", "GET list-mr-notes"]);
    expect(server.requests.every((r) => r.token === TOKEN)).toBe(true);
  });

  it("authenticates with CI_JOB_TOKEN and addresses the project by numeric id; hostile text is neutralised", async () => {
    const evil = "<script>x</script> @platform/admins [x](https://evil.example)";
    const plan = planBuilder().fleet("hostile").clusters(clusterPlan({ name: "victim", status: "invalid", reason: evil })).build();
    const result = await runScm(["gitlab", "note", "--project", "42", "--mr", "4", "--plan", await planFile(plan, "hostile.json")], { CI_JOB_TOKEN: TOKEN, CI_SERVER_URL: server.url });
    expect(result).toMatchObject({ exitCode: 0, stderr: "" });
    const body = server.notes.find((n) => n.mr === 4)?.body ?? "";
    expect(body).not.toMatch(/(^|[^\\])<script>/m);
    expect(body).not.toContain("@platform/admins");
    expect(body).not.toContain("[x](https://evil.example)");
  });
});

describe("bosun gitlab status", () => {
  it("sets one status per cluster and bosun/plan, failed for blocked and unreachable", async () => {
    const mark = server.requests.length;
    const result = await runScm(["gitlab", "status", "--project", "platform/fleet", "--sha", SHA, "--host", server.url, "--plan", await planFile(planBuilder().build(), "status.json"), "--target-url", "https://ci.example.com/p/1"], { BOSUN_GITLAB_TOKEN: TOKEN });
    expect(result).toMatchObject({ exitCode: 0, stderr: "" });
    expect(since(mark)).toEqual(Array(5).fill("POST set-commit-status"));
    expect(server.statuses.map((s) => [s.name, s.state])).toEqual([
      ["bosun/canary-1", "success"],
      ["bosun/staging-eu-1", "success"],
      ["bosun/prod-eu-1", "failed"],
      ["bosun/prod-us-1", "failed"],
      ["bosun/plan", "failed"],
    ]);
    expect(server.statuses.every((s) => s.sha === SHA && s.target_url === "https://ci.example.com/p/1")).toBe(true);
    expect(server.statuses[1]?.description).toBe("changes: 7 steps (7 pending)");
  });

  it("fails (exit 1) on a wrong token without quoting it, and refuses bad command lines before any request (exit 2)", async () => {
    const file = await planFile(planBuilder().build(), "errors.json");
    const wrong = "glpat-wrongTokenValue-0000";
    const denied = await runScm(["gitlab", "status", "--project", "42", "--sha", SHA, "--host", server.url, "--plan", file], { BOSUN_GITLAB_TOKEN: wrong });
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toMatch(/GitLab API: setting status bosun\/canary-1 on 42@d+: HTTP 401/);
    expect(denied.stderr).not.toContain(wrong);

    const mark = server.requests.length;
    for (const [args, env, message] of [
      [["gitlab", "status", "--project", "../x", "--sha", SHA, "--host", server.url, "--plan", file], { BOSUN_GITLAB_TOKEN: TOKEN }, /--project "\.\.\/x"/],
      [["gitlab", "note", "--project", "42", "--mr", "x", "--host", server.url, "--plan", file], { BOSUN_GITLAB_TOKEN: TOKEN }, /--mr "x": expected a positive number/],
      [["gitlab", "note", "--project", "42", "--mr", "3", "--host", server.url, "--plan", file], {}, /no GitLab token: set BOSUN_GITLAB_TOKEN or CI_JOB_TOKEN/],
      [["gitlab", "note", "--project", "42", "--mr", "3", "--host", "ftp://x", "--plan", file], { BOSUN_GITLAB_TOKEN: TOKEN }, /--host "ftp:\/\/x": expected an http\(s\) URL/],
    ] as const) {
      const result = await runScm(args, env);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(server.requests.length).toBe(mark);
  });
});
