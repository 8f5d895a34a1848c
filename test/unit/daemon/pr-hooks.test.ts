/**
 * `POST /hooks/github` and `POST /hooks/gitlab` in front of a real pull-request bot (recording what it was
 * asked): the signature or token first, then each event to the right bot call, another repository's
 * deliveries ignored, pushes to the fetch trigger.
 *
 * GitHub bodies are GitHub's published examples (`signedWebhook`), changed only where the test needs a
 * repository, number, base or comment. GitLab bodies follow GitLab's documented examples, field for field:
 * https://docs.gitlab.com/user/project/integrations/webhook_events/ ("Merge request events",
 * "Comment on a merge request", "Push events").
 */
import pino from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { PullRequestBot, type CommandEvent, type RequestEvent } from "../../../src/daemon/pr-bot.js";
import type { PullRequestBase, PullRequestPlan } from "../../../src/daemon/pr-plan.js";
import { handleGitHubHook, handleGitLabHook, type ReviewHookContext } from "../../../src/daemon/pr-hooks.js";
import type { HookRequest } from "../../../src/daemon/hooks.js";
import type { ChangeRequest, PublishOutcome, ScmHost } from "../../../src/scm/host.js";
import { examplesOf, signedWebhook, signWebhookBody } from "../../support/github-webhooks.js";
import { planBuilder } from "../report/builder.js";

const GITHUB_SECRET = "github-webhook-secret-42";
const GITLAB_TOKEN = "gitlab-webhook-token-42";
const BASE: PullRequestBase = { revision: "b".repeat(40), fleet: "acme", policy: {} };
/** The head of every GitHub example pull request. */
const EXAMPLE_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
/** `last_commit.id` of GitLab's documented merge request event. */
const GITLAB_HEAD = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";

/** Just enough host for the bot: every request is open into main, `writer` (or user 1) may command. */
class MemoryHost implements ScmHost {
  readonly where = "acme/fleet";
  readonly comments: number[] = [];
  constructor(readonly kind: "github" | "gitlab") {}
  headRef(number: number): string {
    return this.kind === "github" ? `refs/pull/${String(number)}/head` : `refs/merge-requests/${String(number)}/head`;
  }
  get(number: number): Promise<ChangeRequest | null> {
    return Promise.resolve({ number, sha: this.kind === "github" ? EXAMPLE_HEAD : GITLAB_HEAD, baseRef: "main", fork: false, open: true });
  }
  listOpen(): Promise<ChangeRequest[]> {
    return Promise.resolve([]);
  }
  mayCommand(user: string): Promise<boolean> {
    return Promise.resolve(user === "Codertocat" || user === "1");
  }
  refuse(): Promise<void> {
    return Promise.resolve();
  }
  comment(number: number): Promise<PublishOutcome["comment"]> {
    this.comments.push(number);
    return Promise.resolve("created");
  }
  statuses(): Promise<void> {
    return Promise.resolve();
  }
  secrets(): readonly string[] {
    return [];
  }
}

/** The real bot, recording the calls the webhooks made. */
class RecordingBot extends PullRequestBot {
  readonly requests: RequestEvent[] = [];
  readonly commands: CommandEvent[] = [];
  readonly planned: string[];

  constructor(kind: "github" | "gitlab") {
    const planned: string[] = [];
    super({
      host: new MemoryHost(kind),
      baseRef: "main",
      base: () => BASE,
      plan: (ref: string): Promise<PullRequestPlan> => {
        planned.push(ref);
        return Promise.resolve({ kind: "plan", revision: EXAMPLE_HEAD, plan: planBuilder().build() });
      },
      log: pino({ level: "silent" }),
      scrub: (text) => text,
    });
    this.planned = planned;
  }

  override onRequest(event: RequestEvent): { accepted: boolean; reason: string } {
    this.requests.push(event);
    return super.onRequest(event);
  }

  override onComment(event: CommandEvent): Promise<{ accepted: boolean; reason: string }> {
    this.commands.push(event);
    return super.onComment(event);
  }
}

let triggers: string[];
let logged: string[];

beforeEach(() => {
  triggers = [];
  logged = [];
});

function context(bot: RecordingBot, repository: string): ReviewHookContext {
  return {
    secrets: { github: GITHUB_SECRET, gitlab: GITLAB_TOKEN },
    followedRef: "main",
    control: { trigger: (reason: string) => void triggers.push(reason) },
    log: (_level, message) => void logged.push(message),
    bot,
    repository,
  };
}

function hook(body: string, headers: Record<string, string>): HookRequest {
  return { headers, body: Buffer.from(body, "utf8") };
}

// ---- GitHub ----

type Json = Record<string, unknown>;

function child(value: Json, key: string): Json {
  return value[key] as Json;
}

/** A pull_request example of `acme/fleet`, #7 into main; `headRepo` is where the head lives. */
function pullRequest(action: string, options: { headRepo?: string; baseRef?: string; repository?: string } = {}): ReturnType<typeof signedWebhook> {
  return signedWebhook("pull_request", action, GITHUB_SECRET, {
    change: (payload) => {
      child(payload, "repository").full_name = options.repository ?? "acme/fleet";
      const pull = child(payload, "pull_request");
      pull.number = 7;
      child(pull, "base").ref = options.baseRef ?? "main";
      child(child(pull, "head"), "repo").full_name = options.headRepo ?? "acme/fleet";
      return payload;
    },
  });
}

/** An issue_comment.created example on #7, a pull request unless `onIssue`. */
function issueComment(body: string, options: { onIssue?: boolean } = {}): ReturnType<typeof signedWebhook> {
  return signedWebhook("issue_comment", "created", GITHUB_SECRET, {
    change: (payload) => {
      child(payload, "repository").full_name = "acme/fleet";
      const issue = child(payload, "issue");
      issue.number = 7;
      // GitHub marks an issue that is a pull request with this object (the published example is an issue).
      if (options.onIssue !== true) issue.pull_request = { url: "https://api.github.com/repos/acme/fleet/pulls/7", html_url: "https://github.com/acme/fleet/pull/7", diff_url: "https://github.com/acme/fleet/pull/7.diff", patch_url: "https://github.com/acme/fleet/pull/7.patch" };
      child(payload, "comment").body = body;
      return payload;
    },
  });
}

describe("POST /hooks/github", () => {
  it.each([
    ["a wrong secret", (h: Record<string, string>) => ({ ...h, "x-hub-signature-256": signWebhookBody("{}", "not-the-secret") })],
    ["no signature", (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== "x-hub-signature-256"))],
    ["an empty signature", (h: Record<string, string>) => ({ ...h, "x-hub-signature-256": "" })],
  ])("refuses %s with 401 and calls nothing", async (_name, tamper) => {
    const bot = new RecordingBot("github");
    const delivery = pullRequest("opened");
    const response = await handleGitHubHook(hook(delivery.body, tamper(delivery.headers)), context(bot, "acme/fleet"));
    expect(response.status).toBe(401);
    expect(bot.requests).toEqual([]);
    expect(triggers).toEqual([]);
  });

  it("refuses a body changed after signing", async () => {
    const bot = new RecordingBot("github");
    const delivery = pullRequest("opened");
    const response = await handleGitHubHook(hook(delivery.body.replace('"number":7', '"number":8'), delivery.headers), context(bot, "acme/fleet"));
    expect(response.status).toBe(401);
    expect(bot.requests).toEqual([]);
  });

  it.each([
    ["opened", "opened: planning", 1],
    ["synchronize", "synchronize: planning", 1],
    ["reopened", "reopened: planning", 1],
    ["closed", "closed: forgotten", 0],
  ])("pull_request %s → onRequest(%s)", async (action, reason, plans) => {
    const bot = new RecordingBot("github");
    const delivery = pullRequest(action);
    const response = await handleGitHubHook(hook(delivery.body, delivery.headers), context(bot, "acme/fleet"));
    await bot.idle();
    expect(response).toEqual({ status: 202, body: { accepted: reason } });
    expect(bot.requests).toEqual([{ action, number: 7, sha: EXAMPLE_HEAD, baseRef: "main", fork: false }]);
    expect(bot.planned).toEqual(plans === 1 ? ["refs/pull/7/head"] : []);
  });

  it("takes a head in another repository for a fork (matched case-insensitively)", async () => {
    const bot = new RecordingBot("github");
    const fork = pullRequest("opened", { headRepo: "drive-by/fleet" });
    const response = await handleGitHubHook(hook(fork.body, fork.headers), context(bot, "ACME/Fleet"));
    expect(response.status).toBe(202);
    expect(bot.requests).toEqual([{ action: "opened", number: 7, sha: EXAMPLE_HEAD, baseRef: "main", fork: true }]);
    expect(bot.planned).toEqual([]);
  });

  it("passes a request into another branch on for the bot to ignore", async () => {
    const bot = new RecordingBot("github");
    const delivery = pullRequest("opened", { baseRef: "release-1" });
    const response = await handleGitHubHook(hook(delivery.body, delivery.headers), context(bot, "acme/fleet"));
    expect(response).toEqual({ status: 202, body: { ignored: "into release-1, not into main" } });
    expect(bot.planned).toEqual([]);
  });

  it("issue_comment created with /bosun plan → onComment, and the writer's command plans", async () => {
    const bot = new RecordingBot("github");
    const delivery = issueComment("/bosun plan");
    const response = await handleGitHubHook(hook(delivery.body, delivery.headers), context(bot, "acme/fleet"));
    await bot.idle();
    expect(response).toEqual({ status: 202, body: { accepted: "planning" } });
    expect(bot.commands).toEqual([{ number: 7, commentId: 492700400, user: "Codertocat", body: "/bosun plan" }]);
    expect(bot.planned).toEqual(["refs/pull/7/head"]);
  });

  it("ignores an issue_comment that is not a command, or on an issue", async () => {
    const bot = new RecordingBot("github");
    const chat = signedWebhook("issue_comment", "created", GITHUB_SECRET, { change: (p) => ({ ...p, repository: { ...child(p, "repository"), full_name: "acme/fleet" }, issue: { ...child(p, "issue"), pull_request: { url: "https://api.github.com/repos/acme/fleet/pulls/1" } } }) });
    expect(await handleGitHubHook(hook(chat.body, chat.headers), context(bot, "acme/fleet"))).toEqual({ status: 202, body: { ignored: "not a /bosun plan command" } });
    const onIssue = issueComment("/bosun plan", { onIssue: true });
    expect(await handleGitHubHook(hook(onIssue.body, onIssue.headers), context(bot, "acme/fleet"))).toEqual({ status: 202, body: { ignored: "not a new comment on a pull request" } });
    expect(bot.commands).toHaveLength(1);
    expect(bot.planned).toEqual([]);
  });

  it("acknowledges and ignores a delivery for another repository", async () => {
    const bot = new RecordingBot("github");
    const delivery = signedWebhook("pull_request", "opened", GITHUB_SECRET);
    const response = await handleGitHubHook(hook(delivery.body, delivery.headers), context(bot, "acme/fleet"));
    expect(response).toEqual({ status: 202, body: { ignored: "a delivery for another repository" } });
    expect(bot.requests).toEqual([]);
  });

  it("answers a bot event with no bot configured without reading further", async () => {
    const delivery = pullRequest("opened");
    const response = await handleGitHubHook(hook(delivery.body, delivery.headers), { ...context(new RecordingBot("github"), "acme/fleet"), bot: null });
    expect(response).toEqual({ status: 202, body: { ignored: "no GitHub pull-request bot is configured (--github-repo)" } });
  });

  it("sends a push to the fetch trigger", async () => {
    const bot = new RecordingBot("github");
    const example = structuredClone(examplesOf("push").find((p) => p.ref === "refs/heads/master") ?? {});
    const body = JSON.stringify({ ...example, ref: "refs/heads/main" });
    const headers = { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "1", "x-hub-signature-256": signWebhookBody(body, GITHUB_SECRET) };
    const response = await handleGitHubHook(hook(body, headers), context(bot, "acme/fleet"));
    expect(response.status).toBe(202);
    expect(triggers).toEqual([`push webhook (github) ${String(example.after)}`]);
    expect(bot.requests).toEqual([]);
  });
});

// ---- GitLab ----

const GITLAB_PROJECT = {
  id: 1,
  name: "Gitlab Test",
  description: "Aut reprehenderit ut est.",
  web_url: "http://example.com/gitlabhq/gitlab-test",
  avatar_url: null,
  git_ssh_url: "git@example.com:gitlabhq/gitlab-test.git",
  git_http_url: "http://example.com/gitlabhq/gitlab-test.git",
  namespace: "GitlabHQ",
  visibility_level: 20,
  path_with_namespace: "gitlabhq/gitlab-test",
  default_branch: "master",
  homepage: "http://example.com/gitlabhq/gitlab-test",
  url: "http://example.com/gitlabhq/gitlab-test.git",
  ssh_url: "git@example.com:gitlabhq/gitlab-test.git",
  http_url: "http://example.com/gitlabhq/gitlab-test.git",
};

const GITLAB_USER = { id: 1, name: "Administrator", username: "root", avatar_url: "http://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=40&d=identicon", email: "admin@example.com" };

/** GitLab's documented merge request event (`target_branch` main instead of master), with `attributes` changed. */
function mergeRequestEvent(attributes: Json): Json {
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: GITLAB_USER,
    project: GITLAB_PROJECT,
    repository: { name: "Gitlab Test", url: "http://example.com/gitlabhq/gitlab-test.git", description: "Aut reprehenderit ut est.", homepage: "http://example.com/gitlabhq/gitlab-test" },
    object_attributes: {
      id: 99,
      iid: 1,
      target_branch: "main",
      source_branch: "ms-viewport",
      source_project_id: 14,
      author_id: 51,
      assignee_ids: [6],
      title: "MS-Viewport",
      created_at: "2013-12-03T17:23:34Z",
      updated_at: "2013-12-03T17:23:34Z",
      state: "opened",
      draft: false,
      merge_status: "unchecked",
      target_project_id: 14,
      description: "",
      url: "http://example.com/diaspora/merge_requests/1",
      last_commit: { id: GITLAB_HEAD, message: "fixed readme", title: "Update file README.md", timestamp: "2012-01-03T23:36:29+02:00", url: `http://example.com/awesome_space/awesome_project/commits/${GITLAB_HEAD}`, author: { name: "GitLab dev user", email: "gitlabdev@dv6700.(none)" } },
      action: "open",
      detailed_merge_status: "mergeable",
      ...attributes,
    },
    labels: [],
    changes: {},
  };
}

/** GitLab's documented "comment on a merge request" event, on !1 into main. */
function mergeRequestNote(note: string, noteableType = "MergeRequest"): Json {
  return {
    object_kind: "note",
    event_type: "note",
    user: GITLAB_USER,
    project_id: 1,
    project: GITLAB_PROJECT,
    object_attributes: {
      id: 1244,
      note,
      noteable_type: noteableType,
      author_id: 1,
      created_at: "2015-05-17 18:21:36 UTC",
      updated_at: "2015-05-17 18:21:36 UTC",
      project_id: 1,
      attachment: null,
      line_code: null,
      commit_id: "",
      noteable_id: 7,
      system: false,
      st_diff: null,
      action: "create",
      url: "http://example.com/gitlabhq/gitlab-test/merge_requests/1#note_1244",
    },
    merge_request: { id: 7, iid: 1, target_branch: "main", source_branch: "ms-viewport", source_project_id: 14, target_project_id: 14, state: "opened", last_commit: { id: GITLAB_HEAD } },
  };
}

function gitlab(event: string, payload: Json, token = GITLAB_TOKEN): HookRequest {
  return hook(JSON.stringify(payload), { "content-type": "application/json", "x-gitlab-event": event, "x-gitlab-token": token });
}

describe("POST /hooks/gitlab", () => {
  it("refuses a wrong or missing token with 401 and calls nothing", async () => {
    const bot = new RecordingBot("gitlab");
    expect((await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({}), "wrong"), context(bot, "gitlabhq/gitlab-test"))).status).toBe(401);
    const noToken = hook(JSON.stringify(mergeRequestEvent({})), { "x-gitlab-event": "Merge Request Hook" });
    expect((await handleGitLabHook(noToken, context(bot, "gitlabhq/gitlab-test"))).status).toBe(401);
    expect(bot.requests).toEqual([]);
  });

  it.each([
    ["open", {}, "opened"],
    ["reopen", {}, "reopened"],
    ["update", { oldrev: "95790bf891e76fee5e1747ab589903a6a1f80f22" }, "synchronize"],
    ["close", { state: "closed" }, "closed"],
    ["merge", { state: "merged" }, "closed"],
  ])("merge request %s → onRequest(%s)", async (action, extra, expected) => {
    const bot = new RecordingBot("gitlab");
    const response = await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({ action, ...extra })), context(bot, "gitlabhq/gitlab-test"));
    await bot.idle();
    expect(response.status).toBe(202);
    expect(bot.requests).toEqual([{ action: expected, number: 1, sha: GITLAB_HEAD, baseRef: "main", fork: false }]);
    expect(bot.planned).toEqual(expected === "closed" ? [] : ["refs/merge-requests/1/head"]);
  });

  it("takes an update without oldrev for an edit: not planned again", async () => {
    const bot = new RecordingBot("gitlab");
    await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({ action: "open" })), context(bot, "gitlabhq/gitlab-test"));
    await bot.idle();
    const response = await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({ action: "update", title: "MS-Viewport (renamed)" })), context(bot, "gitlabhq/gitlab-test"));
    await bot.idle();
    expect(response).toEqual({ status: 202, body: { accepted: "edited: the head did not move" } });
    expect(bot.requests.map((r) => r.action)).toEqual(["opened", "edited"]);
    expect(bot.planned).toEqual(["refs/merge-requests/1/head"]);
  });

  it("takes another source project for a fork, and matches the project by numeric id too", async () => {
    const bot = new RecordingBot("gitlab");
    const response = await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({ source_project_id: 15 })), context(bot, "1"));
    expect(response.body).toEqual({ accepted: "from a fork: waiting for /bosun plan from a user with write access" });
    expect(bot.requests).toEqual([{ action: "opened", number: 1, sha: GITLAB_HEAD, baseRef: "main", fork: true }]);
    expect(bot.planned).toEqual([]);
  });

  it("takes a merge request whose projects are not both named for a fork (fails closed)", async () => {
    const bot = new RecordingBot("gitlab");
    await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({ source_project_id: undefined, target_project_id: undefined })), context(bot, "gitlabhq/gitlab-test"));
    expect(bot.requests.map((r) => r.fork)).toEqual([true]);
    expect(bot.planned).toEqual([]);
  });

  it("ignores an edited note: an edit is not a new command", async () => {
    const bot = new RecordingBot("gitlab");
    const edited = mergeRequestNote("/bosun plan") as { object_attributes: Record<string, unknown> };
    edited.object_attributes.action = "update";
    expect((await handleGitLabHook(gitlab("Note Hook", edited), context(bot, "gitlabhq/gitlab-test"))).body).toEqual({ ignored: "not a note on a merge request" });
    expect(bot.commands).toEqual([]);
  });

  it("a note /bosun plan on a merge request → onComment with the user's id", async () => {
    const bot = new RecordingBot("gitlab");
    const response = await handleGitLabHook(gitlab("Note Hook", mergeRequestNote("/bosun plan")), context(bot, "gitlabhq/gitlab-test"));
    await bot.idle();
    expect(response).toEqual({ status: 202, body: { accepted: "planning" } });
    expect(bot.commands).toEqual([{ number: 1, commentId: 1244, user: "1", body: "/bosun plan" }]);
    expect(bot.planned).toEqual(["refs/merge-requests/1/head"]);
  });

  it("ignores a note on an issue and a delivery for another project", async () => {
    const bot = new RecordingBot("gitlab");
    expect((await handleGitLabHook(gitlab("Note Hook", mergeRequestNote("/bosun plan", "Issue")), context(bot, "gitlabhq/gitlab-test"))).body).toEqual({ ignored: "not a note on a merge request" });
    expect((await handleGitLabHook(gitlab("Merge Request Hook", mergeRequestEvent({})), context(bot, "other/project"))).body).toEqual({ ignored: "a delivery for another project" });
    expect(bot.requests).toEqual([]);
    expect(bot.commands).toEqual([]);
  });

  it("sends a push to the fetch trigger", async () => {
    const bot = new RecordingBot("gitlab");
    // The documented push event's fields, pushed to main.
    const push = { object_kind: "push", event_name: "push", before: "95790bf891e76fee5e1747ab589903a6a1f80f22", after: GITLAB_HEAD, ref: "refs/heads/main", checkout_sha: GITLAB_HEAD, user_id: 4, user_name: "John Smith", project_id: 1, project: GITLAB_PROJECT, commits: [], total_commits_count: 0 };
    const response = await handleGitLabHook(gitlab("Push Hook", push), context(bot, "gitlabhq/gitlab-test"));
    expect(response.status).toBe(202);
    expect(triggers).toEqual([`push webhook (gitlab) ${GITLAB_HEAD}`]);
    expect(bot.requests).toEqual([]);
  });
});
