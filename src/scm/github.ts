/**
 * GitHub through `@octokit/rest`: the plan comment of a pull request (found by its marker among the
 * issue comments, updated in place, or created; left alone when its body is already the same) and the
 * commit statuses on the pull request's head. Token authentication; the base URL is configurable for
 * GitHub Enterprise Server (`https://github.example.com/api/v3`). The token never appears in an error.
 */
import { Octokit } from "@octokit/rest";
import type { Plan } from "../plan/types.js";
import { isPlanComment, renderPlanComment, type PlanCommentOptions } from "./comment.js";
import { scmError } from "./errors.js";
import { planStatuses, type CommitStatus } from "./statuses.js";

/** GitHub's public API. */
export const GITHUB_API_URL = "https://api.github.com";

/** How to reach GitHub. */
export interface GitHubConnection {
  token: string;
  /** `https://api.github.com` by default; GitHub Enterprise Server: `https://<host>/api/v3`. */
  apiUrl?: string;
  /** For tests and proxies: the fetch Octokit uses. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** A repository. */
export interface GitHubRepo {
  owner: string;
  repo: string;
}

/** A client bound to one connection; the token is kept only to scrub it from errors. */
export interface GitHubClient {
  octokit: Octokit;
  secrets: readonly string[];
  signal: AbortSignal | undefined;
}

/** What {@link upsertPlanComment} did. */
export interface CommentOutcome {
  action: "created" | "updated" | "unchanged";
  id: number;
  url: string;
  truncated: boolean;
}

/** The GitHub client for a connection. */
export function githubClient(connection: GitHubConnection): GitHubClient {
  const octokit = new Octokit({
    auth: connection.token,
    baseUrl: (connection.apiUrl ?? GITHUB_API_URL).replace(/\/+$/, ""),
    userAgent: "bosun",
    // Octokit logs warnings (deprecations) to the console; bosun's output is its own.
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    ...(connection.fetch ? { request: { fetch: connection.fetch } } : {}),
  });
  return { octokit, secrets: [connection.token], signal: connection.signal };
}

/** The head commit of pull request `pr`. */
export async function pullRequestHead(client: GitHubClient, target: GitHubRepo, pr: number): Promise<string> {
  try {
    const { data } = await client.octokit.rest.pulls.get({ ...target, pull_number: pr, request: { signal: client.signal } });
    return data.head.sha;
  } catch (error) {
    throw scmError("GitHub", `reading pull request ${target.owner}/${target.repo}#${pr}`, error, client.secrets);
  }
}

/**
 * Posts the plan comment on pull request `pr`: updates the fleet's existing comment when there is one
 * (the first whose first line is the marker and that bosun may edit), creates one otherwise, and sends
 * nothing when the existing body is already the one rendered.
 */
export async function upsertPlanComment(client: GitHubClient, target: GitHubRepo, pr: number, plan: Plan, options: PlanCommentOptions = {}): Promise<CommentOutcome> {
  const { body, truncated } = renderPlanComment(plan, options);
  return { ...(await upsertComment(client, target, pr, plan.fleet, body)), truncated };
}

/** {@link upsertPlanComment} with a body already rendered (a plan's or an invalid head's) for `fleet`. */
export async function upsertComment(client: GitHubClient, target: GitHubRepo, pr: number, fleet: string, body: string): Promise<Omit<CommentOutcome, "truncated">> {
  const where = `${target.owner}/${target.repo}#${pr}`;
  let comments: { id: number; body?: string | undefined; html_url: string }[];
  try {
    comments = await client.octokit.paginate(client.octokit.rest.issues.listComments, { ...target, issue_number: pr, per_page: 100, request: { signal: client.signal } });
  } catch (error) {
    throw scmError("GitHub", `listing the comments of ${where}`, error, client.secrets);
  }
  for (const existing of comments.filter((c) => isPlanComment(c.body, fleet))) {
    if (normalise(existing.body ?? "") === normalise(body)) return { action: "unchanged", id: existing.id, url: existing.html_url };
    try {
      const { data } = await client.octokit.rest.issues.updateComment({ ...target, comment_id: existing.id, body, request: { signal: client.signal } });
      return { action: "updated", id: data.id, url: data.html_url };
    } catch (error) {
      // Anyone can post a comment that starts with the marker; bosun cannot edit it, so it looks further.
      if (statusCode(error) === 403 || statusCode(error) === 404) continue;
      throw scmError("GitHub", `updating comment ${existing.id} of ${where}`, error, client.secrets);
    }
  }
  try {
    const { data } = await client.octokit.rest.issues.createComment({ ...target, issue_number: pr, body, request: { signal: client.signal } });
    return { action: "created", id: data.id, url: data.html_url };
  } catch (error) {
    throw scmError("GitHub", `commenting on ${where}`, error, client.secrets);
  }
}

/** Options of {@link setCommitStatuses}. */
export interface StatusOptions {
  /** Linked from every status (the status page, the CI run). */
  targetUrl?: string;
}

/** Sets `statuses` (by default the plan's, see `planStatuses`) on commit `sha`, one request each, in order. */
export async function setCommitStatuses(client: GitHubClient, target: GitHubRepo, sha: string, statuses: readonly CommitStatus[], options: StatusOptions = {}): Promise<void> {
  for (const status of statuses) {
    try {
      await client.octokit.rest.repos.createCommitStatus({
        ...target,
        sha,
        state: status.state,
        context: status.context,
        description: status.description,
        ...(options.targetUrl === undefined ? {} : { target_url: options.targetUrl }),
        request: { signal: client.signal },
      });
    } catch (error) {
      throw scmError("GitHub", `setting status ${status.context} on ${target.owner}/${target.repo}@${sha}`, error, client.secrets);
    }
  }
}

/** Sets the plan's statuses on `sha` (see {@link setCommitStatuses}) and returns them. */
export async function setPlanStatuses(client: GitHubClient, target: GitHubRepo, sha: string, plan: Plan, options: StatusOptions = {}): Promise<CommitStatus[]> {
  const statuses = planStatuses(plan);
  await setCommitStatuses(client, target, sha, statuses, options);
  return statuses;
}

function normalise(body: string): string {
  return body.replace(/\r\n/g, "\n").trimEnd();
}

function statusCode(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}
