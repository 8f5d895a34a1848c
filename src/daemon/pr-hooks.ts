/**
 * `POST /hooks/github` and `POST /hooks/gitlab`: the webhooks of the pull-request bot, which also take
 * pushes (one webhook per repository is enough).
 *
 * - GitHub: `X-Hub-Signature-256` verified with the webhook secret (`@octokit/webhooks-methods`) before
 *   anything is read; `pull_request` (opened, reopened, synchronize, edited, closed) and `issue_comment`
 *   (created, on a pull request) go to the bot, `push` to the fetch trigger, `ping` is answered.
 * - GitLab: `X-Gitlab-Token` compared in constant time; `Merge Request Hook` (open, reopen, update,
 *   close, merge), `Note Hook` on a merge request, `Push Hook`.
 *
 * A delivery for another repository than the bot's is acknowledged and ignored. Nothing in a body is
 * trusted beyond "look at this request": the bot reads the request, and who may command a plan, from the
 * host's API.
 */
import type { PullRequestBot, RequestEvent } from "./pr-bot.js";
import { authentic, handleGitHook, header, type HookContext, type HookRequest, type HookResponse } from "./hooks.js";

/** What the review webhooks need beyond the push webhook's context. */
export interface ReviewHookContext extends HookContext {
  /** The bot of this host, or null when the daemon has none configured for it. */
  bot: PullRequestBot | null;
  /** `owner/name` (GitHub) or the project path (GitLab) the bot serves. */
  repository: string | null;
}

const UNAUTHORIZED: HookResponse = { status: 401, body: { error: "webhook signature or token missing or invalid" } };

/** Handles `POST /hooks/github`. */
export async function handleGitHubHook(request: HookRequest, context: ReviewHookContext): Promise<HookResponse> {
  if (!(await authentic("github", request, context.secrets))) {
    context.log("warn", "webhook refused: bad or missing signature", { provider: "github" });
    return UNAUTHORIZED;
  }
  const event = header(request.headers, "x-github-event") ?? "";
  if (event === "push" || event === "ping") return handleGitHook(request, context);
  if (event !== "pull_request" && event !== "issue_comment") return { status: 202, body: { ignored: `event ${event} is not one bosun takes` } };
  const payload = jsonObject(request.body);
  if (payload === undefined) return { status: 400, body: { error: "webhook body is not a JSON object" } };
  const bot = context.bot;
  if (bot === null) return { status: 202, body: { ignored: "no GitHub pull-request bot is configured (--github-repo)" } };
  const repository = text(record(payload.repository)?.full_name);
  if (repository === undefined || repository.toLowerCase() !== (context.repository ?? "").toLowerCase()) {
    return { status: 202, body: { ignored: "a delivery for another repository" } };
  }
  if (event === "pull_request") {
    const pull = record(payload.pull_request);
    const action = text(payload.action);
    const number = integer(pull?.number);
    const head = record(pull?.head);
    const base = record(pull?.base);
    const sha = text(head?.sha);
    const baseRef = text(base?.ref);
    if (pull === undefined || number === undefined || sha === undefined || baseRef === undefined || !isRequestAction(action)) {
      return { status: 202, body: { ignored: `pull_request ${action ?? ""} is not planned` } };
    }
    const headRepo = text(record(head?.repo)?.full_name);
    const fork = headRepo === undefined || headRepo.toLowerCase() !== repository.toLowerCase();
    const outcome = bot.onRequest({ action, number, sha, baseRef, fork });
    context.log("info", `pull request #${String(number)} ${action}: ${outcome.reason}`, { provider: "github", number, sha });
    return { status: 202, body: { [outcome.accepted ? "accepted" : "ignored"]: outcome.reason } };
  }
  const issue = record(payload.issue);
  const comment = record(payload.comment);
  const number = integer(issue?.number);
  const commentId = integer(comment?.id);
  const user = text(record(comment?.user)?.login);
  const body = text(comment?.body);
  if (text(payload.action) !== "created" || record(issue?.pull_request) === undefined || number === undefined || commentId === undefined || user === undefined || body === undefined) {
    return { status: 202, body: { ignored: "not a new comment on a pull request" } };
  }
  const outcome = await bot.onComment({ number, commentId, user, body });
  if (outcome.reason !== "not a /bosun plan command") context.log("info", `comment on pull request #${String(number)}: ${outcome.reason}`, { provider: "github", number, user });
  return { status: 202, body: { [outcome.accepted ? "accepted" : "ignored"]: outcome.reason } };
}

/** GitLab's merge-request actions and what the bot calls them. */
const GITLAB_ACTIONS: Readonly<Record<string, RequestEvent["action"]>> = { open: "opened", reopen: "reopened", update: "synchronize", close: "closed", merge: "closed" };

/** Handles `POST /hooks/gitlab`. */
export async function handleGitLabHook(request: HookRequest, context: ReviewHookContext): Promise<HookResponse> {
  if (!(await authentic("gitlab", request, context.secrets))) {
    context.log("warn", "webhook refused: bad or missing token", { provider: "gitlab" });
    return UNAUTHORIZED;
  }
  const event = header(request.headers, "x-gitlab-event") ?? "";
  if (event === "Push Hook" || event === "Tag Push Hook") return handleGitHook(request, context);
  if (event !== "Merge Request Hook" && event !== "Note Hook") return { status: 202, body: { ignored: `event ${event} is not one bosun takes` } };
  const payload = jsonObject(request.body);
  if (payload === undefined) return { status: 400, body: { error: "webhook body is not a JSON object" } };
  const bot = context.bot;
  if (bot === null) return { status: 202, body: { ignored: "no GitLab merge-request bot is configured (--gitlab-project)" } };
  const project = record(payload.project);
  const path = text(project?.path_with_namespace);
  const id = integer(project?.id);
  const wanted = (context.repository ?? "").toLowerCase();
  if (!(path !== undefined && path.toLowerCase() === wanted) && !(id !== undefined && String(id) === wanted)) {
    return { status: 202, body: { ignored: "a delivery for another project" } };
  }
  const attributes = record(payload.object_attributes);
  if (event === "Merge Request Hook") {
    const number = integer(attributes?.iid);
    const sha = text(record(attributes?.last_commit)?.id);
    const baseRef = text(attributes?.target_branch);
    const written = text(attributes?.action);
    let action = written === undefined ? undefined : GITLAB_ACTIONS[written];
    // An update without `oldrev` changed the title or the labels, not the head.
    if (action === "synchronize" && text(attributes?.oldrev) === undefined) action = "edited";
    if (number === undefined || sha === undefined || baseRef === undefined || action === undefined) {
      return { status: 202, body: { ignored: `merge request ${written ?? ""} is not planned` } };
    }
    // Fails closed: a request whose projects are not both named is treated as a fork.
    const source = integer(attributes?.source_project_id);
    const fork = source === undefined || source !== integer(attributes?.target_project_id);
    const outcome = bot.onRequest({ action, number, sha, baseRef, fork });
    context.log("info", `merge request !${String(number)} ${action}: ${outcome.reason}`, { provider: "gitlab", number, sha });
    return { status: 202, body: { [outcome.accepted ? "accepted" : "ignored"]: outcome.reason } };
  }
  const mr = record(payload.merge_request);
  const number = integer(mr?.iid);
  const commentId = integer(attributes?.id);
  const user = integer(record(payload.user)?.id);
  const body = text(attributes?.note);
  // A note edited later is not a new command (GitLab sends `action: update` for it).
  const noteAction = text(attributes?.action);
  if (text(attributes?.noteable_type) !== "MergeRequest" || (noteAction !== undefined && noteAction !== "create") || number === undefined || commentId === undefined || user === undefined || body === undefined) {
    return { status: 202, body: { ignored: "not a note on a merge request" } };
  }
  const outcome = await bot.onComment({ number, commentId, user: String(user), body });
  if (outcome.reason !== "not a /bosun plan command") context.log("info", `note on merge request !${String(number)}: ${outcome.reason}`, { provider: "gitlab", number, user });
  return { status: 202, body: { [outcome.accepted ? "accepted" : "ignored"]: outcome.reason } };
}

function isRequestAction(action: string | undefined): action is RequestEvent["action"] {
  return action === "opened" || action === "reopened" || action === "synchronize" || action === "closed" || action === "edited";
}

function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    return record(JSON.parse(body.toString("utf8")));
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function integer(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
