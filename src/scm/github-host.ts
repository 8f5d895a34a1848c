/**
 * GitHub as the pull-request bot's code host (see host.ts), authenticated with a token or as a GitHub
 * App: `@octokit/app` signs a JWT with the app's private key and exchanges it for an installation token
 * (renewed by the library before it expires). The installation is the one configured, else the one
 * installed on the repository (asked once).
 */
import { App } from "@octokit/app";
import { Octokit } from "@octokit/rest";
import { scmError } from "./errors.js";
import { GITHUB_API_URL, githubClient, setCommitStatuses, upsertComment, type GitHubClient, type GitHubRepo } from "./github.js";
import type { ChangeRequest, ScmHost } from "./host.js";
import type { CommitStatus } from "./statuses.js";

/** How the bot authenticates to GitHub. */
export type GitHubAuth =
  | { kind: "token"; token: string }
  | { kind: "app"; appId: number; privateKey: string; installationId?: number };

/** Options of {@link GitHubHost}. */
export interface GitHubHostOptions {
  repo: GitHubRepo;
  /** `https://api.github.com` by default; GitHub Enterprise Server: `https://<host>/api/v3`. */
  apiUrl?: string;
  auth: GitHubAuth;
  /** For tests and proxies. */
  fetch?: typeof fetch;
}

/** Permissions that may command a plan. */
const WRITE_PERMISSIONS = new Set(["admin", "maintain", "write"]);

const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** GitHub for the bot. */
export class GitHubHost implements ScmHost {
  readonly kind = "github" as const;
  readonly where: string;
  private readonly options: GitHubHostOptions;
  private client: Promise<GitHubClient> | null = null;

  constructor(options: GitHubHostOptions) {
    this.options = options;
    this.where = `${options.repo.owner}/${options.repo.repo}`;
  }

  headRef(number: number): string {
    return `refs/pull/${String(number)}/head`;
  }

  async get(number: number): Promise<ChangeRequest | null> {
    const client = await this.connect();
    try {
      const { data } = await client.octokit.rest.pulls.get({ ...this.options.repo, pull_number: number });
      return this.changeRequest(data);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw scmError("GitHub", `reading pull request ${this.where}#${String(number)}`, error, this.secrets());
    }
  }

  async listOpen(baseRef: string): Promise<ChangeRequest[]> {
    const client = await this.connect();
    try {
      const pulls = await client.octokit.paginate(client.octokit.rest.pulls.list, { ...this.options.repo, state: "open", base: baseRef, per_page: 100 });
      return pulls.map((p) => this.changeRequest(p));
    } catch (error) {
      throw scmError("GitHub", `listing the open pull requests of ${this.where}`, error, this.secrets());
    }
  }

  async mayCommand(user: string): Promise<boolean> {
    const client = await this.connect();
    try {
      const { data } = await client.octokit.rest.repos.getCollaboratorPermissionLevel({ ...this.options.repo, username: user });
      return WRITE_PERMISSIONS.has(data.permission) || WRITE_PERMISSIONS.has(data.role_name);
    } catch (error) {
      // Not a collaborator (or not a user): no write access.
      if (statusOf(error) === 404) return false;
      throw scmError("GitHub", `reading the permission of ${user} on ${this.where}`, error, this.secrets());
    }
  }

  async refuse(number: number, commentId: number): Promise<void> {
    const client = await this.connect();
    try {
      await client.octokit.rest.reactions.createForIssueComment({ ...this.options.repo, comment_id: commentId, content: "-1" });
    } catch (error) {
      throw scmError("GitHub", `reacting to comment ${String(commentId)} of ${this.where}#${String(number)}`, error, this.secrets());
    }
  }

  async comment(number: number, fleet: string, body: string): Promise<"created" | "updated" | "unchanged"> {
    return (await upsertComment(await this.connect(), this.options.repo, number, fleet, body)).action;
  }

  async statuses(sha: string, statuses: readonly CommitStatus[], targetUrl?: string): Promise<void> {
    await setCommitStatuses(await this.connect(), this.options.repo, sha, statuses, targetUrl === undefined ? {} : { targetUrl });
  }

  secrets(): readonly string[] {
    const auth = this.options.auth;
    return auth.kind === "token" ? [auth.token] : [auth.privateKey];
  }

  private changeRequest(data: { number: number; state: string; head: { sha: string; repo: { full_name: string } | null }; base: { ref: string; repo: { full_name: string } } }): ChangeRequest {
    // A head repository that is gone (a deleted fork) is not this repository either.
    const fork = data.head.repo === null || data.head.repo.full_name.toLowerCase() !== data.base.repo.full_name.toLowerCase();
    return { number: data.number, sha: data.head.sha, baseRef: data.base.ref, fork, open: data.state === "open" };
  }

  private connect(): Promise<GitHubClient> {
    this.client ??= this.authenticate().catch((error: unknown) => {
      this.client = null;
      throw error;
    });
    return this.client;
  }

  private async authenticate(): Promise<GitHubClient> {
    const auth = this.options.auth;
    const baseUrl = (this.options.apiUrl ?? GITHUB_API_URL).replace(/\/+$/, "");
    if (auth.kind === "token") return githubClient({ token: auth.token, apiUrl: baseUrl, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) });
    const Bound = Octokit.defaults({ baseUrl, userAgent: "bosun", log: QUIET, ...(this.options.fetch ? { request: { fetch: this.options.fetch } } : {}) });
    const app = new App({ appId: auth.appId, privateKey: auth.privateKey, Octokit: Bound, log: QUIET });
    let installationId = auth.installationId;
    try {
      if (installationId === undefined) {
        const { data } = await app.octokit.request("GET /repos/{owner}/{repo}/installation", { ...this.options.repo });
        installationId = data.id;
      }
      const octokit = await app.getInstallationOctokit(installationId);
      return { octokit, secrets: this.secrets(), signal: undefined };
    } catch (error) {
      throw scmError("GitHub", `authenticating as app ${String(auth.appId)} on ${this.where}`, error, this.secrets());
    }
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}
