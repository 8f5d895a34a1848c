/**
 * `POST /hooks/git`: push webhooks that make the daemon fetch now instead of at its next interval.
 * Three senders, told apart by their headers:
 *
 * - GitHub: `X-GitHub-Event` and `X-Hub-Signature-256`, an HMAC-SHA256 of the body verified with
 *   `@octokit/webhooks-methods` (constant time).
 * - GitLab: `X-Gitlab-Event` and `X-Gitlab-Token`, the shared token compared in constant time.
 * - anything else: `Authorization: Bearer <token>` (a CI job, a Gitea hook, curl), with an optional JSON
 *   body `{ "ref": "refs/heads/main", "after": "<sha>" }`.
 *
 * Authentication comes first and is all-or-nothing: a bad or missing signature is 401 and triggers
 * nothing; the body is parsed only once it is authentic. A push to a ref other than the one followed is
 * acknowledged (202) and ignored, so a repository's other branches do not cost a fetch each. A webhook
 * only ever asks for a fetch — the revision applied is what the daemon fetches, never what the body says.
 */
import { verify } from "@octokit/webhooks-methods";
import type { DaemonControl } from "./control.js";
import { bearerToken, secretEquals } from "./tokens.js";

/** The secrets webhooks are checked against; a sender whose secret is absent is always refused. */
export interface HookSecrets {
  /** GitHub's webhook secret (BOSUN_WEBHOOK_SECRET). */
  github?: string;
  /** GitLab's secret token (BOSUN_WEBHOOK_GITLAB_TOKEN). */
  gitlab?: string;
  /** The bearer token of generic hooks (BOSUN_WEBHOOK_TOKEN). */
  bearer?: string;
}

/** The sender of a webhook. */
export type HookProvider = "github" | "gitlab" | "generic";

/** A webhook request as the HTTP server read it: headers (lower-case names) and the raw body. */
export interface HookRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

/** What to answer: a status and a JSON body. */
export interface HookResponse {
  status: 200 | 202 | 400 | 401;
  body: Record<string, unknown>;
}

/** What handling a webhook needs from the daemon. */
export interface HookContext {
  secrets: HookSecrets;
  /** The branch or tag followed (`main`, `refs/heads/main`), or null to take a push to any ref. */
  followedRef: string | null;
  control: Pick<DaemonControl, "trigger">;
  log: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

const UNAUTHORIZED: HookResponse = { status: 401, body: { error: "webhook signature or token missing or invalid" } };

/** A commit id as it may appear in a trigger reason (anything else is not quoted). */
const COMMIT = /^[0-9a-f]{7,64}$/;

/** Handles one webhook request: authenticates it, then triggers a fetch for a push to the followed ref. */
export async function handleGitHook(request: HookRequest, context: HookContext): Promise<HookResponse> {
  const provider = providerOf(request.headers);
  if (!(await authentic(provider, request, context.secrets))) {
    // The log says which sender failed, never what it sent.
    context.log("warn", "webhook refused: bad or missing signature", { provider });
    return UNAUTHORIZED;
  }
  const event = eventOf(provider, request.headers);
  if (event === "ping") return { status: 200, body: { ok: "pong" } };
  if (event !== "push") return { status: 202, body: { ignored: `event ${event} is not a push` } };
  const push = parsePush(provider, request);
  if (push === undefined) return { status: 400, body: { error: "webhook body is not a push event's JSON" } };
  if (push.ref !== undefined && !refMatches(push.ref, context.followedRef)) {
    return { status: 202, body: { ignored: `push to ${push.ref}, not to the followed ref ${context.followedRef ?? ""}` } };
  }
  const after = push.after !== undefined && COMMIT.test(push.after) ? push.after : "unknown";
  const reason = `push webhook (${provider}) ${after}`;
  context.log("info", "push webhook: fetching now", { provider, ref: push.ref, after });
  context.control.trigger(reason);
  return { status: 202, body: { triggered: reason } };
}

/** One header's value (the first when repeated). */
export function header(headers: HookRequest["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function providerOf(headers: HookRequest["headers"]): HookProvider {
  if (header(headers, "x-github-event") !== undefined) return "github";
  if (header(headers, "x-gitlab-event") !== undefined) return "gitlab";
  return "generic";
}

/** Whether the request is authentic for `provider` (see the module's description); constant time. */
export async function authentic(provider: HookProvider, request: HookRequest, secrets: HookSecrets): Promise<boolean> {
  switch (provider) {
    case "github": {
      const signature = header(request.headers, "x-hub-signature-256");
      if (secrets.github === undefined || secrets.github === "" || signature === undefined || signature === "") return false;
      const payload = request.body.toString("utf8");
      // verify() takes a string and hashes its UTF-8 encoding: a body that is not valid UTF-8 would hash
      // to other bytes than were signed, so it is refused rather than verified over something else.
      if (payload === "" || !Buffer.from(payload, "utf8").equals(request.body)) return false;
      return verify(secrets.github, payload, signature);
    }
    case "gitlab": {
      const token = header(request.headers, "x-gitlab-token");
      if (secrets.gitlab === undefined || secrets.gitlab === "" || token === undefined) return false;
      return secretEquals(token, secrets.gitlab);
    }
    case "generic": {
      const token = bearerToken(header(request.headers, "authorization"));
      if (secrets.bearer === undefined || secrets.bearer === "" || token === null) return false;
      return secretEquals(token, secrets.bearer);
    }
  }
}

/** "push", "ping" or the sender's own event name. */
function eventOf(provider: HookProvider, headers: HookRequest["headers"]): string {
  switch (provider) {
    case "github":
      return header(headers, "x-github-event") ?? "";
    case "gitlab": {
      const event = header(headers, "x-gitlab-event") ?? "";
      return event === "Push Hook" || event === "Tag Push Hook" ? "push" : event;
    }
    case "generic":
      return "push";
  }
}

interface Push {
  ref?: string;
  after?: string;
}

/** The ref and new commit of a push body, or undefined when the body is not one. */
function parsePush(provider: HookProvider, request: HookRequest): Push | undefined {
  const text = request.body.toString("utf8");
  if (provider === "generic" && text.trim() === "") return {};
  let json = text;
  // GitHub can send `application/x-www-form-urlencoded` with the JSON in the `payload` field.
  const type = header(request.headers, "content-type") ?? "";
  if (provider === "github" && type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    json = new URLSearchParams(text).get("payload") ?? "";
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const push: Push = {};
  if (typeof record.ref === "string") push.ref = record.ref;
  if (typeof record.after === "string") push.after = record.after;
  // GitHub and GitLab always say which ref was pushed; a push body without one is not a push.
  if (provider !== "generic" && push.ref === undefined) return undefined;
  return push;
}

/** Whether a pushed ref (`refs/heads/main`) is the followed one (`main`, `refs/heads/main`, a tag). */
export function refMatches(pushed: string, followed: string | null): boolean {
  if (followed === null) return true;
  if (followed.startsWith("refs/")) return pushed === followed;
  return pushed === followed || pushed === `refs/heads/${followed}` || pushed === `refs/tags/${followed}`;
}
