/**
 * GitLab through `@gitbeaker/rest`: the plan note of a merge request (found by its marker, edited in place,
 * or created; left alone when unchanged) and one commit status per cluster plus `bosun/plan` (states
 * `success` / `failed`), the same content as on GitHub. A personal, project or group access token
 * (`PRIVATE-TOKEN`) or a CI job token (`JOB-TOKEN`); the host is configurable (self-managed GitLab). The
 * token never appears in an error.
 */
import { Gitlab } from "@gitbeaker/rest";
import type { Plan } from "../plan/types.js";
import { isPlanComment, renderPlanComment, type PlanCommentOptions } from "./comment.js";
import { scmError } from "./errors.js";
import { planStatuses, type CommitStatus } from "./statuses.js";

/** GitLab.com. */
export const GITLAB_HOST = "https://gitlab.com";

/** How to reach GitLab. */
export interface GitLabConnection {
  /** `https://gitlab.com` by default; a self-managed instance's URL otherwise (without `/api/v4`). */
  host?: string;
  /** An access token (`PRIVATE-TOKEN`) or a CI job token (`JOB-TOKEN`). */
  token: { kind: "access" | "job"; value: string };
}

/** A client bound to one connection; the token is kept only to scrub it from errors. */
export interface GitLabClient {
  api: InstanceType<typeof Gitlab>;
  secrets: readonly string[];
}

/** What {@link upsertPlanNote} did. */
export interface NoteOutcome {
  action: "created" | "updated" | "unchanged";
  id: number;
  truncated: boolean;
}

/** The GitLab client for a connection. */
export function gitlabClient(connection: GitLabConnection): GitLabClient {
  const host = (connection.host ?? GITLAB_HOST).replace(/\/+$/, "");
  // One request may take a minute (gitbeaker's default is five), so a CI job fails rather than hangs.
  const queryTimeout = 60_000;
  const api = connection.token.kind === "job" ? new Gitlab({ host, jobToken: connection.token.value, queryTimeout }) : new Gitlab({ host, token: connection.token.value, queryTimeout });
  return { api, secrets: [connection.token.value] };
}

/**
 * Posts the plan note on merge request `mr` of `project` (numeric id or `group/name` path): edits the
 * fleet's existing note when there is one, creates one otherwise, and sends nothing when the existing body
 * is already the one rendered. System notes ("added 1 commit") are never considered.
 */
export async function upsertPlanNote(client: GitLabClient, project: string | number, mr: number, plan: Plan, options: PlanCommentOptions = {}): Promise<NoteOutcome> {
  const { body, truncated } = renderPlanComment(plan, options);
  return { ...(await upsertNote(client, project, mr, plan.fleet, body)), truncated };
}

/** {@link upsertPlanNote} with a body already rendered (a plan's or an invalid head's) for `fleet`. */
export async function upsertNote(client: GitLabClient, project: string | number, mr: number, fleet: string, body: string): Promise<Omit<NoteOutcome, "truncated">> {
  const where = `${String(project)}!${mr}`;
  let notes: { id: number; body: string; system?: boolean }[];
  try {
    notes = (await client.api.MergeRequestNotes.all(project, mr, { perPage: 100, sort: "asc", orderBy: "created_at" }));
  } catch (error) {
    throw scmError("GitLab", `listing the notes of ${where}`, error, client.secrets);
  }
  for (const existing of notes.filter((n) => n.system !== true && isPlanComment(n.body, fleet))) {
    if (normalise(existing.body) === normalise(body)) return { action: "unchanged", id: existing.id };
    try {
      const note = await client.api.MergeRequestNotes.edit(project, mr, existing.id, { body });
      return { action: "updated", id: note.id };
    } catch (error) {
      // A note someone else wrote with the marker cannot be edited by bosun: look further.
      const status = (error as { cause?: { response?: { status?: unknown } } }).cause?.response?.status;
      if (status === 403 || status === 404) continue;
      throw scmError("GitLab", `editing note ${existing.id} of ${where}`, error, client.secrets);
    }
  }
  try {
    const note = await client.api.MergeRequestNotes.create(project, mr, body);
    return { action: "created", id: note.id };
  } catch (error) {
    throw scmError("GitLab", `adding a note to ${where}`, error, client.secrets);
  }
}

/** Options of {@link setGitLabStatuses}. */
export interface GitLabStatusOptions {
  /** Linked from every status. */
  targetUrl?: string;
}

/** Sets `statuses` on commit `sha` of `project` (name `bosun/<cluster>`, state `success` or `failed`). */
export async function setGitLabStatuses(client: GitLabClient, project: string | number, sha: string, statuses: readonly CommitStatus[], options: GitLabStatusOptions = {}): Promise<void> {
  for (const status of statuses) {
    try {
      await client.api.Commits.editStatus(project, sha, status.state === "success" ? "success" : "failed", {
        name: status.context,
        description: status.description,
        ...(options.targetUrl === undefined ? {} : { targetUrl: options.targetUrl }),
      });
    } catch (error) {
      throw scmError("GitLab", `setting status ${status.context} on ${String(project)}@${sha}`, error, client.secrets);
    }
  }
}

/** Sets the plan's statuses on `sha` (see {@link setGitLabStatuses}) and returns them. */
export async function setGitLabPlanStatuses(client: GitLabClient, project: string | number, sha: string, plan: Plan, options: GitLabStatusOptions = {}): Promise<CommitStatus[]> {
  const statuses = planStatuses(plan);
  await setGitLabStatuses(client, project, sha, statuses, options);
  return statuses;
}

function normalise(body: string): string {
  return body.replace(/\r\n/g, "\n").trimEnd();
}
