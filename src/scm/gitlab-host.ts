/**
 * GitLab as the pull-request bot's code host (see host.ts): merge requests of one project, through
 * `@gitbeaker/rest` with an access token. Write access is Developer (30) or above on the project,
 * inherited memberships included.
 */
import { scmError } from "./errors.js";
import { gitlabClient, setGitLabStatuses, upsertNote, type GitLabClient } from "./gitlab.js";
import type { ChangeRequest, ScmHost } from "./host.js";
import type { CommitStatus } from "./statuses.js";

/** Options of {@link GitLabHost}. */
export interface GitLabHostOptions {
  /** The project: numeric id or `group/name` path. */
  project: string;
  /** `https://gitlab.com` by default. */
  host?: string;
  /** An access token with the `api` scope. */
  token: string;
}

/** GitLab's Developer access level: may push, so may command a plan. */
const DEVELOPER = 30;

interface MergeRequestFields {
  iid: number;
  state: string;
  sha: string;
  target_branch: string;
  source_project_id: number;
  target_project_id: number;
}

/** GitLab for the bot. */
export class GitLabHost implements ScmHost {
  readonly kind = "gitlab" as const;
  readonly where: string;
  private readonly client: GitLabClient;
  private readonly options: GitLabHostOptions;

  constructor(options: GitLabHostOptions) {
    this.options = options;
    this.where = options.project;
    this.client = gitlabClient({ ...(options.host === undefined ? {} : { host: options.host }), token: { kind: "access", value: options.token } });
  }

  headRef(number: number): string {
    return `refs/merge-requests/${String(number)}/head`;
  }

  async get(number: number): Promise<ChangeRequest | null> {
    try {
      const mr = (await this.client.api.MergeRequests.show(this.options.project, number)) as unknown as MergeRequestFields;
      return changeRequest(mr);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw scmError("GitLab", `reading merge request ${this.where}!${String(number)}`, error, this.secrets());
    }
  }

  async listOpen(baseRef: string): Promise<ChangeRequest[]> {
    try {
      const all = (await this.client.api.MergeRequests.all({ projectId: this.options.project, state: "opened", targetBranch: baseRef, perPage: 100 })) as unknown as MergeRequestFields[];
      return all.map(changeRequest);
    } catch (error) {
      throw scmError("GitLab", `listing the open merge requests of ${this.where}`, error, this.secrets());
    }
  }

  async mayCommand(user: string): Promise<boolean> {
    const id = Number(user);
    if (!Number.isSafeInteger(id) || id <= 0) return false;
    try {
      const member = (await this.client.api.ProjectMembers.show(this.options.project, id, { includeInherited: true })) as unknown as { access_level: number };
      return member.access_level >= DEVELOPER;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw scmError("GitLab", `reading the membership of user ${user} in ${this.where}`, error, this.secrets());
    }
  }

  async refuse(number: number, commentId: number): Promise<void> {
    try {
      await this.client.api.MergeRequestNoteAwardEmojis.award(this.options.project, number, commentId, "thumbsdown");
    } catch (error) {
      throw scmError("GitLab", `reacting to note ${String(commentId)} of ${this.where}!${String(number)}`, error, this.secrets());
    }
  }

  async comment(number: number, fleet: string, body: string): Promise<"created" | "updated" | "unchanged"> {
    return (await upsertNote(this.client, this.options.project, number, fleet, body)).action;
  }

  async statuses(sha: string, statuses: readonly CommitStatus[], targetUrl?: string): Promise<void> {
    await setGitLabStatuses(this.client, this.options.project, sha, statuses, targetUrl === undefined ? {} : { targetUrl });
  }

  secrets(): readonly string[] {
    return this.client.secrets;
  }
}

function changeRequest(mr: MergeRequestFields): ChangeRequest {
  return { number: mr.iid, sha: mr.sha, baseRef: mr.target_branch, fork: mr.source_project_id !== mr.target_project_id, open: mr.state === "opened" };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { cause?: { response?: { status?: unknown } } } | null)?.cause?.response?.status;
  return typeof status === "number" ? status : undefined;
}
