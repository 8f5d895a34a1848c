/**
 * What the pull-request bot needs of a code host, the same for GitHub pull requests and GitLab merge
 * requests: read a request, list the open ones, ask whether a user may command a plan, mark a refused
 * command, and publish one comment plus commit statuses.
 */
import type { CommitStatus } from "./statuses.js";

/** A pull request or merge request as the bot sees it. */
export interface ChangeRequest {
  number: number;
  /** The head commit. */
  sha: string;
  /** The branch it would merge into (`main`). */
  baseRef: string;
  /** From another repository (a fork): planned only on a command of a user with write access. */
  fork: boolean;
  open: boolean;
}

/** What publishing did. */
export interface PublishOutcome {
  comment: "created" | "updated" | "unchanged";
  /** Statuses sent (none when they were the same as last time for this head). */
  statuses: number;
}

/** A code host the bot talks to. */
export interface ScmHost {
  /** `github` or `gitlab`, in logs and metrics. */
  readonly kind: "github" | "gitlab";
  /** `owner/name` or the project path, in logs. */
  readonly where: string;
  /** The head's ref in the fleet repository (`refs/pull/7/head`, `refs/merge-requests/7/head`). */
  headRef(number: number): string;
  /** The request, or null when it does not exist. */
  get(number: number): Promise<ChangeRequest | null>;
  /** The open requests into `baseRef`. */
  listOpen(baseRef: string): Promise<ChangeRequest[]>;
  /** Whether `user` (a login, or a GitLab user id) has write access: may command a plan. */
  mayCommand(user: string): Promise<boolean>;
  /** Marks a refused command (a reaction on the comment), so its author sees it was read and refused. */
  refuse(number: number, commentId: number): Promise<void>;
  /** Posts or updates the one comment with `body` (found by the `fleet`'s marker). */
  comment(number: number, fleet: string, body: string): Promise<PublishOutcome["comment"]>;
  /** Sets the statuses on `sha`, each linking to `targetUrl` when given. */
  statuses(sha: string, statuses: readonly CommitStatus[], targetUrl?: string): Promise<void>;
  /** Credentials to scrub from any message that leaves bosun. */
  secrets(): readonly string[];
}

/** The command a comment may carry: `/bosun plan` alone on its first line. */
export function isPlanCommand(body: string | null | undefined): boolean {
  if (typeof body !== "string") return false;
  const first = body.trimStart().split(/\r?\n/, 1)[0] ?? "";
  return /^\/bosun\s+plan\s*$/.test(first.trimEnd());
}
