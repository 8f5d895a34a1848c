/**
 * The pull-request bot of `bosun run`: keeps one plan comment and one commit status per cluster current
 * on every open pull request (merge request) into the followed branch.
 *
 * - What it plans: the request's head (`refs/pull/N/head`) under the base's policy (pr-plan.ts), against
 *   the live clusters, read-only.
 * - When: a request opened, reopened or pushed to; a `/bosun plan` comment; the base moving to a new
 *   revision; a cluster drifting (the clusters are the other input of every plan). Requests are planned
 *   at most `concurrency` at a time, and a request asked for again while queued or being planned is
 *   planned once more at most (coalesced).
 * - Who may ask: a request from a fork is planned only once a user with write access commented
 *   `/bosun plan`, and only at the head that was current then (a later push needs a new command); a
 *   command from anyone else is refused with a reaction and changes nothing.
 * - What it sends: nothing when the plan is the same as the one last published for that head (the
 *   comment is compared by its body, the statuses by their content); otherwise the comment is updated in
 *   place and the statuses set again.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { asError, BosunError } from "../errors.js";
import { planCommentMarker, renderInvalidComment, renderPlanComment } from "../scm/comment.js";
import { isPlanCommand, type ChangeRequest, type ScmHost } from "../scm/host.js";
import { invalidStatuses, planStatuses, type CommitStatus } from "../scm/statuses.js";
import { invalidLines, type PullRequestBase, type PullRequestPlan } from "./pr-plan.js";

/** What the bot needs from the daemon. */
export interface PullRequestBotOptions {
  host: ScmHost;
  /** The followed branch: requests into another branch are not this fleet's. */
  baseRef: string;
  /** The base revision requests are planned against; null until the daemon has a target. */
  base: () => PullRequestBase | null;
  /** Plans the head at `ref` against `base`. */
  plan: (ref: string, base: PullRequestBase) => Promise<PullRequestPlan>;
  /** The status page's address for links, when known. */
  publicUrl?: () => string | undefined;
  log: Logger;
  /** Requests planned at the same time (default 2). */
  concurrency?: number;
  /** Scrubs credentials of the daemon (Git token, kubeconfig tokens) from a message. */
  scrub: (text: string) => string;
  /** Counts one published plan (metrics). */
  onPublished?: (outcome: "created" | "updated" | "unchanged" | "failed", seconds: number) => void;
}

/** A `pull_request` (or merge-request) event, as the webhook parser read it. */
export interface RequestEvent {
  action: "opened" | "reopened" | "synchronize" | "closed" | "edited";
  number: number;
  sha: string;
  baseRef: string;
  fork: boolean;
}

/** A `/bosun plan` candidate: a new comment on a request. */
export interface CommandEvent {
  number: number;
  commentId: number;
  /** The author: a GitHub login, or a GitLab user id. */
  user: string;
  body: string;
}

interface Tracked {
  request: ChangeRequest;
  /** The head a user with write access asked a plan of (forks are planned only at that head). */
  commanded: string | null;
  /** What was last published, by head: the plan's fingerprint. */
  published: { sha: string; fingerprint: string } | null;
}

/** Requests tracked at most: past it, the oldest that is not being planned is forgotten. */
const MAX_TRACKED = 1_000;

/** How long after a failed listing of the open requests it is tried again. */
const LIST_RETRY_MS = 60_000;

/** Keeps the plans of open requests current on their host (see the module's description). */
export class PullRequestBot {
  private readonly options: PullRequestBotOptions;
  private readonly tracked = new Map<number, Tracked>();
  private readonly queued = new Map<number, string[]>();
  private readonly running = new Set<number>();
  private readonly again = new Set<number>();
  private readonly workers = new Set<Promise<void>>();
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(options: PullRequestBotOptions) {
    this.options = options;
  }

  /**
   * Finds the open requests into the followed branch and plans those it may: a fork's only after a new
   * `/bosun plan` (a command is not remembered across restarts). A failed listing is tried again a minute
   * later until it succeeds.
   */
  async start(): Promise<void> {
    let open: ChangeRequest[];
    try {
      open = await this.options.host.listOpen(this.options.baseRef);
    } catch (error) {
      this.options.log.warn({ host: this.options.host.kind, err: this.scrub(error) }, "could not list the open pull requests; trying again in a minute");
      if (!this.stopped) {
        this.retry = setTimeout(() => {
          this.retry = null;
          void this.start();
        }, LIST_RETRY_MS);
        this.retry.unref();
      }
      return;
    }
    for (const request of open) {
      if (this.tracked.has(request.number)) continue;
      this.track(request);
      if (request.fork) this.waitForCommand(request.number);
      else this.request(request.number, "open at start");
    }
  }

  /** A request opened, was pushed to, reopened or closed. */
  onRequest(event: RequestEvent): { accepted: boolean; reason: string } {
    if (!this.intoFollowed(event.baseRef)) {
      // Retargeted away from the followed branch: no longer this fleet's to plan.
      this.forget(event.number);
      return { accepted: false, reason: `into ${event.baseRef}, not into ${this.options.baseRef}` };
    }
    if (event.action === "closed") {
      this.forget(event.number);
      return { accepted: true, reason: "closed: forgotten" };
    }
    const known = this.tracked.get(event.number);
    this.track({ number: event.number, sha: event.sha, baseRef: this.options.baseRef, fork: event.fork, open: true }, known?.commanded ?? null);
    if (event.action === "edited" && known?.request.sha === event.sha) return { accepted: true, reason: "edited: the head did not move" };
    if (event.fork && known?.commanded !== event.sha) {
      // A plan asked for at the commanded head must not run at this one.
      this.queued.delete(event.number);
      this.again.delete(event.number);
      this.waitForCommand(event.number);
      return { accepted: true, reason: "from a fork: waiting for /bosun plan from a user with write access" };
    }
    this.request(event.number, event.action);
    return { accepted: true, reason: `${event.action}: planning` };
  }

  /** A new comment: a `/bosun plan` from a user with write access plans the request again. */
  async onComment(event: CommandEvent): Promise<{ accepted: boolean; reason: string }> {
    if (!isPlanCommand(event.body)) return { accepted: false, reason: "not a /bosun plan command" };
    const host = this.options.host;
    let allowed: boolean;
    try {
      allowed = await host.mayCommand(event.user);
    } catch (error) {
      this.options.log.warn({ host: host.kind, number: event.number, err: this.scrub(error) }, "could not check who asked for a plan; nothing planned");
      return { accepted: false, reason: "the permission check failed" };
    }
    if (!allowed) {
      this.options.log.info({ host: host.kind, number: event.number, user: event.user }, "/bosun plan from a user without write access: refused");
      await host.refuse(event.number, event.commentId).catch((error: unknown) => {
        this.options.log.warn({ host: host.kind, number: event.number, err: this.scrub(error) }, "could not mark the refused command");
      });
      return { accepted: false, reason: "the author has no write access" };
    }
    let request: ChangeRequest | null;
    try {
      request = await host.get(event.number);
    } catch (error) {
      this.options.log.warn({ host: host.kind, number: event.number, err: this.scrub(error) }, "could not read the pull request; nothing planned");
      return { accepted: false, reason: "the pull request could not be read" };
    }
    if (request === null || !request.open) return { accepted: false, reason: "not an open pull request" };
    if (!this.intoFollowed(request.baseRef)) return { accepted: false, reason: `into ${request.baseRef}, not into ${this.options.baseRef}` };
    // The command covers the head it was read at: a later push to a fork needs another one.
    this.track(request, request.sha);
    this.request(request.number, `/bosun plan by ${event.user}`);
    return { accepted: true, reason: "planning" };
  }

  /** The base moved or a cluster drifted: every open request it may plan is planned again. */
  replanAll(reason: string): void {
    for (const [number, tracked] of this.tracked) {
      if (tracked.request.open && this.mayPlan(tracked)) this.request(number, reason);
    }
  }

  /** The requests tracked now (the status page). */
  list(): { number: number; sha: string; fork: boolean; planned: boolean }[] {
    return [...this.tracked.values()].map((t) => ({ number: t.request.number, sha: t.request.sha, fork: t.request.fork, planned: t.published?.sha === t.request.sha }));
  }

  /** Resolves when nothing is queued or being planned (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.workers.size > 0) await Promise.all([...this.workers]);
  }

  /** Stops taking work; resolves when the plans being published are done, or after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopped = true;
    this.queued.clear();
    this.again.clear();
    if (this.retry) clearTimeout(this.retry);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))))]);
    clearTimeout(timer);
  }

  /** Whether a request's base (`main`, `refs/heads/main`) is the followed branch. */
  private intoFollowed(ref: string): boolean {
    return ref === this.options.baseRef || ref === `refs/heads/${this.options.baseRef}`;
  }

  private forget(number: number): void {
    this.tracked.delete(number);
    this.queued.delete(number);
    this.again.delete(number);
  }

  /** Whether `tracked` may be planned now: not a fork, or a fork whose current head a writer commanded. */
  private mayPlan(tracked: Tracked): boolean {
    return !tracked.request.fork || tracked.commanded === tracked.request.sha;
  }

  /** Posts the fork's "waiting for a maintainer" comment, tracked by idle(). */
  private waitForCommand(number: number): void {
    const waiting: Promise<void> = this.awaitCommand(number).finally(() => this.workers.delete(waiting));
    this.workers.add(waiting);
  }

  private track(request: ChangeRequest, commanded: string | null = null): void {
    const known = this.tracked.get(request.number);
    this.tracked.set(request.number, { request, commanded: commanded ?? known?.commanded ?? null, published: known?.published ?? null });
    if (this.tracked.size > MAX_TRACKED) {
      const oldest = [...this.tracked.keys()].find((n) => !this.queued.has(n) && !this.running.has(n));
      if (oldest !== undefined) this.tracked.delete(oldest);
    }
  }

  private request(number: number, reason: string): void {
    if (this.stopped) return;
    if (this.running.has(number)) {
      this.again.add(number);
      return;
    }
    const reasons = this.queued.get(number);
    if (reasons) {
      if (!reasons.includes(reason)) reasons.push(reason);
    } else {
      this.queued.set(number, [reason]);
    }
    this.pump();
  }

  private pump(): void {
    const limit = Math.max(1, this.options.concurrency ?? 2);
    while (!this.stopped && this.running.size < limit) {
      const next = this.queued.keys().next();
      if (next.done === true) return;
      const number = next.value;
      const reasons = this.queued.get(number) ?? [];
      this.queued.delete(number);
      this.running.add(number);
      const worker = this.planAndPublish(number, reasons).finally(() => {
        this.running.delete(number);
        this.workers.delete(worker);
        if (this.again.delete(number)) this.request(number, "asked again while planning");
        this.pump();
      });
      this.workers.add(worker);
    }
  }

  private async planAndPublish(number: number, reasons: readonly string[]): Promise<void> {
    const tracked = this.tracked.get(number);
    const base = this.options.base();
    if (tracked === undefined || base === null || !this.mayPlan(tracked)) return;
    const started = Date.now();
    const host = this.options.host;
    const sha = tracked.request.sha;
    const log = this.options.log.child({ host: host.kind, number, sha });
    try {
      const planned = await this.options.plan(host.headRef(number), base);
      // The ref may have moved since the event: the statuses go on the commit actually planned.
      const revision = planned.revision;
      const current = this.tracked.get(number);
      if (current === undefined) return;
      if (current.request.fork && revision !== current.commanded) {
        // A fork pushed after the command: what was fetched is not what a writer asked to plan.
        log.info({ reasons, revision }, "the fork's head moved after /bosun plan; nothing published until a new command");
        return;
      }
      const fingerprint = planFingerprint(planned);
      if (current.published?.sha === revision && current.published.fingerprint === fingerprint) {
        log.debug({ reasons }, "pull request plan unchanged: nothing sent");
        this.options.onPublished?.("unchanged", (Date.now() - started) / 1000);
        return;
      }
      const planUrl = this.planUrl();
      const { body, statuses } = rendered(planned, planUrl);
      // Reasons and messages in a plan come from clusters and tools: scrubbed like every log line.
      const comment = await host.comment(number, base.fleet, this.scrubText(body));
      await host.statuses(revision, statuses.map((s) => ({ ...s, description: this.scrubText(s.description) })), planUrl);
      current.published = { sha: revision, fingerprint };
      const seconds = (Date.now() - started) / 1000;
      log.info({ reasons, revision, comment, statuses: statuses.length, seconds }, "pull request plan published");
      this.options.onPublished?.(comment, seconds);
    } catch (error) {
      this.options.onPublished?.("failed", (Date.now() - started) / 1000);
      log.warn({ reasons, err: this.scrub(error), reason: error instanceof BosunError ? error.reason : "Internal" }, "pull request plan failed");
    }
  }

  /** Tells a fork's request how to get a plan (once per head: the comment is compared by body). */
  private async awaitCommand(number: number): Promise<void> {
    const base = this.options.base();
    if (base === null || this.running.has(number)) return;
    const body = [
      planCommentMarker(base.fleet),
      "### bosun plan: waiting for a maintainer",
      "",
      "This pull request comes from a fork, so its head is planned against the live clusters only after a user with write access to this repository comments `/bosun plan` (each new push needs a new command).",
      "",
    ].join("\n");
    try {
      await this.options.host.comment(number, base.fleet, body);
      // The plan comment is gone: a later plan, even an unchanged one, is published again.
      const tracked = this.tracked.get(number);
      if (tracked) tracked.published = null;
    } catch (error) {
      this.options.log.warn({ host: this.options.host.kind, number, err: this.scrub(error) }, "could not comment on a fork's pull request");
    }
  }

  private planUrl(): string | undefined {
    const base = this.options.publicUrl?.();
    return base === undefined ? undefined : `${base.replace(/\/+$/, "")}/`;
  }

  private scrub(error: unknown): string {
    return this.scrubText(asError(error).message);
  }

  /** `text` without the daemon's secrets and the host's credentials. */
  private scrubText(text: string): string {
    let out = this.options.scrub(text);
    for (const secret of this.options.host.secrets()) if (secret !== "") out = out.split(secret).join("[redacted]");
    return out;
  }
}

/** The comment and statuses of a plan (or of an invalid head). */
function rendered(planned: PullRequestPlan, planUrl: string | undefined): { body: string; statuses: CommitStatus[] } {
  if (planned.kind === "invalid") {
    const lines = invalidLines(planned.errors);
    return { body: renderInvalidComment({ fleet: planned.fleet, revision: planned.revision, errors: lines }).body, statuses: invalidStatuses(lines) };
  }
  return { body: renderPlanComment(planned.plan, planUrl === undefined ? {} : { planUrl }).body, statuses: planStatuses(planned.plan) };
}

/**
 * The same plan has the same fingerprint: the plan without the time it was made. The base revision is
 * not part of it — a base that moved without changing the plan changes nothing on the request.
 */
export function planFingerprint(planned: PullRequestPlan): string {
  const content = planned.kind === "invalid" ? { invalid: invalidLines(planned.errors) } : { ...planned.plan, generatedAt: undefined };
  return createHash("sha256").update(JSON.stringify({ revision: planned.revision, content })).digest("hex");
}
