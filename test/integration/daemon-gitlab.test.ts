/**
 * The GitLab merge-request bot of `bosun run` end to end: the daemon (in this process) follows `main` of
 * the fleet test/fixtures/fleets/daemon served by a real `git http-backend`, talks to the GitLab stand-in
 * (test/support/gitlab-server.ts) through the real client, and takes GitLab's webhooks over real HTTP
 * (`POST /hooks/gitlab` of startHttpServer). A merge request that bumps alpha to 1.35.4 gets one note with
 * the upgrade ladder and a status per cluster plus `bosun/plan`; a push edits that note; `/bosun plan`
 * from a non-member is refused with a reaction, from a developer it plans again; a bad token is a 401;
 * and the sandbox's audit logs show that nothing bosun sent while planning was a write.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { planCommentMarker } from "../../src/scm/comment.js";
import { GitLabHost } from "../../src/scm/gitlab-host.js";
import { auditMark, bosunRequests, isDryRun, type AuditEvent } from "../support/audit.js";
import { testDaemon, testHttpServer } from "../support/daemon.js";
import type { HttpServer } from "../../src/daemon/http.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { startGitLabServer, type GitLabServer } from "../support/gitlab-server.js";
import { deleteNamespaces, forgetAddons, sandboxCluster } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/daemon");
const NAMESPACE = "dmn-settings";
const PROJECT = "acme/fleet";
const PROJECT_ID = 42;
const API_TOKEN = "glpat-bosun-gitlab-it-0123456789";
const HOOK_TOKEN = "gitlab-hook-token-bosun-it-9876543210";
const MR = 7;
const HEAD_REF = `refs/merge-requests/${String(MR)}/head`;
/** The fixture's fleet name: the note's marker. */
const FLEET = "daemon-test";
const alpha = sandboxCluster("alpha");
const gamma = sandboxCluster("gamma");

let work: string;
let git: GitServer;
let gitlab: GitLabServer;
let daemon: Daemon | undefined;
let hooks: HttpServer | undefined;
let marks: Record<"alpha" | "gamma", () => Promise<AuditEvent[]>>;
let logs: string[] = [];
/** The heads pushed to the merge request, in order. */
const heads: string[] = [];

/** The daemon's log lines as objects (pino writes JSON lines). */
function logLines(): { msg?: string; reasons?: string[]; number?: number }[] {
  return logs.join("").split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as { msg?: string; reasons?: string[]; number?: number });
}

const user = (id: number, username: string): Record<string, unknown> => ({ id, name: username, username, avatar_url: null, email: "[REDACTED]" });

const project = (): Record<string, unknown> => ({
  id: PROJECT_ID,
  name: "fleet",
  description: "",
  web_url: `http://gitlab.example.internal/${PROJECT}`,
  avatar_url: null,
  git_ssh_url: `git@gitlab.example.internal:${PROJECT}.git`,
  git_http_url: `http://gitlab.example.internal/${PROJECT}.git`,
  namespace: "acme",
  visibility_level: 0,
  path_with_namespace: PROJECT,
  default_branch: "main",
  ci_config_path: null,
  homepage: `http://gitlab.example.internal/${PROJECT}`,
  url: `git@gitlab.example.internal:${PROJECT}.git`,
  ssh_url: `git@gitlab.example.internal:${PROJECT}.git`,
  http_url: `http://gitlab.example.internal/${PROJECT}.git`,
});

/** `object_attributes` of a merge request (also the `merge_request` of a note event) at head `sha`. */
function mergeRequestAttributes(sha: string): Record<string, unknown> {
  return {
    id: 9_000 + MR,
    iid: MR,
    target_branch: "main",
    source_branch: "alpha-1.35",
    source_project_id: PROJECT_ID,
    author_id: 5,
    assignee_ids: [],
    assignee_id: null,
    reviewer_ids: [],
    title: "alpha: Kubernetes 1.35.4",
    created_at: "2026-12-01 10:00:00 UTC",
    updated_at: "2026-12-01 10:00:00 UTC",
    last_edited_at: null,
    last_edited_by_id: null,
    milestone_id: null,
    state_id: 1,
    state: "opened",
    blocking_discussions_resolved: true,
    work_in_progress: false,
    draft: false,
    first_contribution: false,
    merge_status: "unchecked",
    detailed_merge_status: "checking",
    target_project_id: PROJECT_ID,
    description: "Bumps alpha.",
    total_time_spent: 0,
    time_change: 0,
    human_total_time_spent: null,
    human_time_change: null,
    human_time_estimate: null,
    url: `http://gitlab.example.internal/${PROJECT}/-/merge_requests/${String(MR)}`,
    source: project(),
    target: project(),
    last_commit: {
      id: sha,
      message: "alpha: Kubernetes 1.35.4\n",
      title: "alpha: Kubernetes 1.35.4",
      timestamp: "2026-12-01T10:00:00+00:00",
      url: `http://gitlab.example.internal/${PROJECT}/-/commit/${sha}`,
      author: { name: "Alice", email: "[REDACTED]" },
    },
    labels: [],
  };
}

/**
 * A `Merge Request Hook` body, modeled on the example of GitLab's documentation,
 * https://docs.gitlab.com/user/project/integrations/webhook_events/#merge-request-events — `oldrev` is
 * there only when the update pushed code (the same page).
 */
function mergeRequestHook(action: "open" | "update", sha: string, oldrev?: string): Record<string, unknown> {
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: user(5, "alice"),
    project: project(),
    object_attributes: { ...mergeRequestAttributes(sha), action, ...(oldrev === undefined ? {} : { oldrev }) },
    labels: [],
    changes: oldrev === undefined ? {} : { updated_at: { previous: "2026-12-01 10:00:00 UTC", current: "2026-12-01 10:05:00 UTC" } },
    repository: { name: "fleet", url: `git@gitlab.example.internal:${PROJECT}.git`, description: "", homepage: `http://gitlab.example.internal/${PROJECT}` },
    assignees: [],
    reviewers: [],
  };
}

/**
 * A `Note Hook` body for a comment on a merge request, modeled on the example of GitLab's documentation,
 * https://docs.gitlab.com/user/project/integrations/webhook_events/#comment-on-a-merge-request
 */
function noteHook(noteId: number, author: { id: number; username: string }, note: string): Record<string, unknown> {
  return {
    object_kind: "note",
    event_type: "note",
    user: user(author.id, author.username),
    project_id: PROJECT_ID,
    project: project(),
    repository: { name: "fleet", url: `git@gitlab.example.internal:${PROJECT}.git`, description: "", homepage: `http://gitlab.example.internal/${PROJECT}` },
    object_attributes: {
      id: noteId,
      note,
      noteable_type: "MergeRequest",
      author_id: author.id,
      created_at: "2026-12-01 10:10:00 UTC",
      updated_at: "2026-12-01 10:10:00 UTC",
      project_id: PROJECT_ID,
      attachment: null,
      line_code: null,
      commit_id: "",
      noteable_id: 9_000 + MR,
      system: false,
      st_diff: null,
      action: "create",
      url: `http://gitlab.example.internal/${PROJECT}/-/merge_requests/${String(MR)}#note_${String(noteId)}`,
    },
    merge_request: mergeRequestAttributes(heads.at(-1) ?? "0".repeat(40)),
  };
}

/** POSTs a GitLab webhook delivery to the daemon's listener. */
async function deliver(event: "Merge Request Hook" | "Note Hook", payload: Record<string, unknown>, token = HOOK_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${(hooks as HttpServer).url}/hooks/gitlab`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "GitLab/18.6.0", "x-gitlab-event": event, "x-gitlab-token": token, "x-gitlab-instance": "http://gitlab.example.internal", "x-gitlab-webhook-uuid": "7b2e1a6c-9c53-4f0e-8d0e-3f2b8f1a2c44" },
    body: JSON.stringify(payload),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Pushes a commit of the merge request's source branch to its head ref (as GitLab keeps it). */
async function pushHead(message: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const sha = await git.push("fleet", message, edit, { from: heads.length === 0 ? "main" : HEAD_REF, to: HEAD_REF });
  heads.push(sha);
  gitlab.seedMergeRequest(MR, sha);
  return sha;
}

async function replaceIn(file: string, from: string, to: string): Promise<void> {
  const text = await fs.readFile(file, "utf8");
  if (!text.includes(from)) throw new Error(`${file} has no ${from}`);
  await fs.writeFile(file, text.replace(from, to));
}

const planNotes = (): typeof gitlab.notes => gitlab.notes.filter((n) => n.mr === MR && n.body.startsWith(planCommentMarker(FLEET)));
const statusNames = (sha: string): string[] => [...new Set(gitlab.statuses.filter((s) => s.sha === sha).map((s) => s.name))].sort();
/** The stand-in's endpoints called since request `from`. */
const endpointsSince = (from: number): (string | undefined)[] => gitlab.requests.slice(from).map((r) => r.endpoint);

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-daemon-gitlab-"));
  await deleteNamespaces(alpha.core, [NAMESPACE]);
  await deleteNamespaces(gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings"]);
  const fleet = path.join(work, "fleet");
  await fs.cp(FIXTURE, fleet, { recursive: true });
  git = await startGitServer();
  const url = await git.serveFixture(fleet, "fleet");
  gitlab = await startGitLabServer({ projectId: PROJECT_ID, projectPath: PROJECT, mergeRequests: [], token: API_TOKEN });
  const built = testDaemon({
    work,
    source: { repo: url, ref: "main" },
    env: { BOSUN_GITLAB_TOKEN: API_TOKEN, BOSUN_WEBHOOK_GITLAB_TOKEN: HOOK_TOKEN },
    publicUrl: () => "http://bosun.example.internal",
    reviews: [new GitLabHost({ project: PROJECT, host: gitlab.url, token: API_TOKEN })],
  });
  daemon = built.daemon;
  logs = built.logs;
  await daemon.start();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await daemon.idle();
  hooks = await testHttpServer(daemon, { hooks: { gitlab: HOOK_TOKEN }, reviews: { gitlab: PROJECT } });
  // From here on the daemon's own loop has nothing to do (alpha's add-on is applied, gamma waits for a
  // manual approval, the intervals are an hour): whatever bosun sends to the clusters is the bot's.
  marks = { alpha: await auditMark("alpha"), gamma: await auditMark("gamma") };
}, 900_000);

afterAll(async () => {
  await hooks?.close();
  await daemon?.stop(10_000);
  await gitlab.close();
  await git.close();
  await deleteNamespaces(alpha.core, [NAMESPACE]);
  await deleteNamespaces(gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings"]);
  await fs.rm(work, { recursive: true, force: true });
});

describe("the GitLab merge-request bot of bosun run", () => {
  it("lists the open merge requests at start (none) and publishes nothing", () => {
    expect(endpointsSince(0)).toEqual(["list-mrs"]);
    expect(gitlab.notes).toEqual([]);
    expect(gitlab.statuses).toEqual([]);
    expect(daemon?.status().clusters.find((c) => c.name === "alpha")?.phase).toBe("in-sync");
  });

  it("plans an opened merge request: one note with alpha's upgrade ladder, a status per cluster and bosun/plan", async () => {
    const sha = await pushHead("alpha: Kubernetes 1.35.4", (dir) => replaceIn(path.join(dir, "clusters/alpha.yaml"), 'version: "1.34.4"', 'version: "1.35.4"'));
    const answer = await deliver("Merge Request Hook", mergeRequestHook("open", sha));
    expect(answer).toEqual({ status: 202, body: { accepted: "opened: planning" } });
    await (daemon as Daemon).idle();

    const notes = planNotes();
    expect(notes, logs.join("").slice(-4000)).toHaveLength(1);
    const body = notes[0]?.body ?? "";
    expect(body.split("\n", 1)[0]).toBe(planCommentMarker(FLEET));
    expect(body).toMatch(/alpha/);
    expect(body).toContain("upgrade the control plane 1.34.4 → 1.35.4");
    expect(statusNames(sha)).toEqual(["bosun/alpha", "bosun/gamma", "bosun/plan"]);
    expect(gitlab.violations).toEqual([]);
  });

  it("edits the same note after a push (update with oldrev), and sets the statuses on the new head", async () => {
    const [first] = planNotes();
    const before = first?.body;
    const sha = await pushHead("dmn-settings: level 2", (dir) => replaceIn(path.join(dir, "addons/settings/configmap.yaml"), 'level: "1"', 'level: "2"'));
    const from = gitlab.requests.length;
    const answer = await deliver("Merge Request Hook", mergeRequestHook("update", sha, heads[0]));
    expect(answer).toEqual({ status: 202, body: { accepted: "synchronize: planning" } });
    await (daemon as Daemon).idle();

    const notes = planNotes();
    expect(notes).toHaveLength(1);
    expect(notes[0]?.id).toBe(first?.id);
    expect(notes[0]?.body).not.toBe(before);
    expect(notes[0]?.body).toContain("upgrade the control plane 1.34.4 → 1.35.4");
    expect(notes[0]?.body).toContain('level: "2"');
    expect(endpointsSince(from).filter((e) => e === "create-mr-note" || e === "edit-mr-note")).toEqual(["edit-mr-note"]);
    expect(statusNames(sha)).toEqual(["bosun/alpha", "bosun/gamma", "bosun/plan"]);
    expect(gitlab.violations).toEqual([]);
  });

  it("refuses /bosun plan from a non-member with a thumbsdown and plans nothing; plans again for a developer", async () => {
    const running = daemon as Daemon;
    const published = (): number => logLines().filter((l) => l.msg === "pull request plan published" || l.msg === "pull request plan unchanged: nothing sent").length;

    const stranger = gitlab.seedNote(MR, "/bosun plan", "mallory");
    let from = gitlab.requests.length;
    const notesBefore = gitlab.notes.length;
    const statusesBefore = gitlab.statuses.length;
    const plansBefore = published();
    const gitBefore = git.requests.length;
    const refused = await deliver("Note Hook", noteHook(stranger.id, { id: 66, username: "mallory" }, "/bosun plan"));
    expect(refused).toEqual({ status: 202, body: { ignored: "the author has no write access" } });
    await running.idle();
    expect(endpointsSince(from)).toEqual(["get-member-all", "award-mr-note-emoji"]);
    expect(gitlab.awards).toEqual([expect.objectContaining({ mr: MR, noteId: stranger.id, name: "thumbsdown" })]);
    expect(gitlab.notes).toHaveLength(notesBefore);
    expect(gitlab.statuses).toHaveLength(statusesBefore);
    expect(published()).toBe(plansBefore);
    expect(git.requests.length, "the head was not fetched").toBe(gitBefore);

    gitlab.seedMember(31, "dave", 30);
    const developer = gitlab.seedNote(MR, "/bosun plan", "dave");
    from = gitlab.requests.length;
    const accepted = await deliver("Note Hook", noteHook(developer.id, { id: 31, username: "dave" }, "/bosun plan"));
    expect(accepted).toEqual({ status: 202, body: { accepted: "planning" } });
    await running.idle();
    // Planned again: the head fetched and planned; the plan is the one already published, so nothing is sent.
    expect(git.requests.length, "the head was fetched").toBeGreaterThan(gitBefore);
    const planned = logLines().filter((l) => l.reasons?.includes("/bosun plan by 31") === true);
    expect(planned.map((l) => l.msg)).toEqual(["pull request plan unchanged: nothing sent"]);
    expect(endpointsSince(from)).toEqual(["get-member-all", "get-mr"]);
    expect(gitlab.awards).toHaveLength(1);
    expect(planNotes()).toHaveLength(1);
    expect(gitlab.violations).toEqual([]);
  });

  it("answers a delivery with a wrong or missing token 401 and records nothing", async () => {
    const from = gitlab.requests.length;
    const notes = gitlab.notes.map((n) => `${String(n.id)}:${n.body}`);
    const lines = logLines().length;
    const gitBefore = git.requests.length;
    const payload = mergeRequestHook("update", heads.at(-1) ?? "", heads[0]);
    for (const token of ["not-the-token", ""]) {
      const answer = await deliver("Merge Request Hook", payload, token);
      expect(answer.status).toBe(401);
    }
    await (daemon as Daemon).idle();
    expect(endpointsSince(from)).toEqual([]);
    expect(gitlab.notes.map((n) => `${String(n.id)}:${n.body}`)).toEqual(notes);
    expect(git.requests.length).toBe(gitBefore);
    expect(logLines().slice(lines).filter((l) => l.msg?.startsWith("pull request") === true)).toEqual([]);
  });

  it("wrote nothing to alpha or gamma while planning: every request bosun sent is a server-side dry-run", async () => {
    for (const cluster of ["alpha", "gamma"] as const) {
      const sent = bosunRequests(await marks[cluster]());
      expect(sent.filter((e) => !isDryRun(e)).map((e) => `${e.verb} ${e.requestURI} (${e.userAgent ?? ""})`), `a write to ${cluster} that is not a dry-run`).toEqual([]);
      // The filter sees the bot's traffic: its add-on diffs are dry-runs in the same log.
      expect(sent.filter(isDryRun).length, `bosun's dry-runs in ${cluster}'s audit log`).toBeGreaterThan(0);
    }
    // The daemon's secrets are in no log line.
    expect(logs.join("")).not.toContain(API_TOKEN);
    expect(logs.join("")).not.toContain(HOOK_TOKEN);
  });
});
