/**
 * The plan as ONE pull-request (or merge-request) comment: `renderMarkdown` (src/report/markdown.ts)
 * under a per-fleet hidden marker, so a CI job or the daemon finds its own comment and updates it in place.
 *
 * The plan of a pull request is untrusted: cluster names, reasons and summaries come from the PR's spec
 * or from the clusters. `renderMarkdown` already escapes Markdown and HTML and makes control characters
 * visible; on top of that this module neutralises what GitHub and GitLab turn into notifications or
 * cross-references outside the comment — `@user`, `@org/team` and `#123` — by putting a zero-width space
 * after the sigil, so the text reads the same but pings no one. Diffs are left as they are: they sit in
 * fenced blocks, where neither host resolves mentions.
 *
 * GitHub refuses bodies over {@link GITHUB_COMMENT_LIMIT} characters. A longer plan has its diffs cut (the
 * largest first, each with a note of how many lines are shown) and a note at the top, linking to the full
 * plan when a `planUrl` is given; a plan whose summary alone is too long keeps only the summary line.
 */
import { InvalidInputError } from "../errors.js";
import type { Plan, Step } from "../plan/types.js";
import { summaryLine, visibleLine } from "../report/format.js";
import { GITHUB_COMMENT_LIMIT, PLAN_COMMENT_MARKER, renderMarkdown } from "../report/markdown.js";

export { GITHUB_COMMENT_LIMIT };

/** Options of {@link renderPlanComment}. */
export interface PlanCommentOptions {
  /** Where the full plan can be read (the status page, a CI artifact): linked when the comment is cut. */
  planUrl?: string;
  /** Longest body allowed, in UTF-16 code units; GitHub's limit by default. */
  limit?: number;
}

/** A rendered comment: its body, and whether anything was left out to fit the limit. */
export interface PlanComment {
  body: string;
  truncated: boolean;
}

/**
 * The hidden first line that identifies the plan comment of `fleet`: `<!-- bosun:plan fleet=<name> -->`.
 * The name is percent-encoded where it could end the HTML comment (`-->`, `--`) or the line.
 */
export function planCommentMarker(fleet: string): string {
  const safe = Array.from(fleet).map((c) => (/[A-Za-z0-9._]/.test(c) ? c : c === "-" ? "-" : encodeURIComponent(c))).join("").replace(/-(?=-)/g, "%2D");
  return `<!-- bosun:plan fleet=${safe} -->`;
}

/** Whether `body` is the plan comment of `fleet` (its first line is the fleet's marker). */
export function isPlanComment(body: string | null | undefined, fleet: string): boolean {
  if (typeof body !== "string") return false;
  const firstLine = body.split(/\r?\n/, 1)[0] ?? "";
  return firstLine.trim() === planCommentMarker(fleet);
}

/**
 * Renders the comment for `plan`: marker, then the markdown plan with every cluster's status, upgrade
 * ladder, add-on and backup diffs and blocked steps with their reasons. Pure: same plan, same text. The
 * body is at most `options.limit` characters.
 */
export function renderPlanComment(plan: Plan, options: PlanCommentOptions = {}): PlanComment {
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  if (options.planUrl !== undefined) checkPlanUrl(options.planUrl);
  const marker = planCommentMarker(plan.fleet);
  const safe = neutralisePlan(plan);
  const withMarker = (markdown: string, note: string): string => {
    // renderMarkdown's own first line is its generic marker; ours names the fleet.
    const rest = markdown.startsWith(PLAN_COMMENT_MARKER) ? markdown.slice(PLAN_COMMENT_MARKER.length).replace(/^\n/, "") : markdown;
    return note === "" ? `${marker}\n${rest}` : `${marker}\n${note}\n\n${rest}`;
  };

  const full = withMarker(renderMarkdown(safe, { limit: Number.POSITIVE_INFINITY }), "");
  if (full.length <= limit) return { body: full, truncated: false };

  const note = truncationNote(options.planUrl, limit);
  const reserve = marker.length + 1 + note.length + 2 - PLAN_COMMENT_MARKER.length;
  const cut = withMarker(renderMarkdown(safe, { limit: Math.max(0, limit - reserve) }), note);
  if (cut.length <= limit) return { body: cut, truncated: true };

  // Even the summary table does not fit (thousands of clusters): the summary line and the link only.
  const minimal = `${marker}\n${note}\n\n**${escapeLine(summaryLine(safe))}**\n`;
  return { body: minimal.length <= limit ? minimal : `${marker}\n${note}\n`.slice(0, limit), truncated: true };
}

function truncationNote(planUrl: string | undefined, limit: number): string {
  const where = planUrl === undefined ? "see the plan.json of this run" : `[read the full plan](<${checkPlanUrl(planUrl)}>)`;
  return `> **This plan was shortened to fit the ${limit.toLocaleString("en-US")}-character comment limit:** diffs were cut, the largest first, each with a note of how many lines are shown; ${where}.`;
}

/**
 * Checks a plan URL and returns it as a link destination, normalised so it cannot close the `<…>` around
 * it. Only absolute http(s) URLs: anything else (`javascript:`) is an `InvalidInputError`, since the note
 * is a link people click.
 */
export function checkPlanUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new InvalidInputError(`plan URL ${JSON.stringify(visibleLine(url))}: not a URL`, { cause: error });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new InvalidInputError(`plan URL ${JSON.stringify(visibleLine(url))}: not an http(s) URL`);
  return parsed.href.replace(/[<>\s]/g, (c) => encodeURIComponent(c));
}

function escapeLine(text: string): string {
  return visibleLine(text).replace(/[\\`*_[\]<>|~&#!()]/g, (c) => `\\${c}`);
}

// ---- neutralising mentions and references ---------------------------------------------------------------

const ZWSP = "\u200B";

/**
 * `@name`, `@org/team` and `#123` with a zero-width space after the sigil: the same to read, but GitHub
 * and GitLab no longer notify the user or team nor link the issue (their filters need the sigil directly
 * before the name).
 */
export function neutraliseMentions(text: string): string {
  return text.replace(/([@#!~%$&])(?=[\p{L}\p{N}_-])/gu, (_, sigil: string) => `${sigil}${ZWSP}`);
}

/** The plan with every text people read (not the diffs, which are fenced) neutralised. */
function neutralisePlan(plan: Plan): Plan {
  const n = neutraliseMentions;
  return {
    ...plan,
    fleet: n(plan.fleet),
    waves: plan.waves.map((w) => ({ name: n(w.name), clusters: w.clusters.map(n) })),
    clusters: plan.clusters.map((cluster) => ({
      ...cluster,
      name: n(cluster.name),
      wave: n(cluster.wave),
      ...(cluster.reason === undefined ? {} : { reason: n(cluster.reason) }),
      versions: {
        desired: n(cluster.versions.desired),
        ...(cluster.versions.controlPlane ? { controlPlane: { oldest: n(cluster.versions.controlPlane.oldest), newest: n(cluster.versions.controlPlane.newest) } } : {}),
        ...(cluster.versions.workers ? { workers: { oldest: n(cluster.versions.workers.oldest), newest: n(cluster.versions.workers.newest) } } : {}),
      },
      steps: cluster.steps.map(neutraliseStep),
      findings: cluster.findings.map((f) => ({ ...f, message: n(f.message) })),
    })),
  };
}

function neutraliseStep(step: Step): Step {
  const n = neutraliseMentions;
  const base = { ...step, summary: n(step.summary), ...(step.reason === undefined ? {} : { reason: n(step.reason) }) };
  if (base.kind === "topology.scale" && base.runbook !== undefined) return { ...base, runbook: base.runbook.map(n) };
  return base;
}

// ---- a head whose fleet does not load ----------------------------------------------------------------

/** What {@link renderInvalidComment} shows: the head's revision and its spec errors. */
export interface InvalidHead {
  fleet: string;
  revision: string;
  /** `file:line:col: message` lines. */
  errors: readonly string[];
}

/** Errors listed in full before the rest are only counted. */
const LISTED_ERRORS = 50;

/**
 * The comment for a head whose fleet does not load: nothing could be planned, and every error is listed
 * with its file, line and field (the first {@link LISTED_ERRORS}). Same marker as the plan comment, so it
 * replaces the plan in place and a fixed head replaces it back.
 */
export function renderInvalidComment(head: InvalidHead, options: PlanCommentOptions = {}): PlanComment {
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  const shown = head.errors.slice(0, LISTED_ERRORS);
  const lines = [
    planCommentMarker(head.fleet),
    `### bosun plan: the fleet at ${escapeLine(head.revision.slice(0, 12))} does not load`,
    "",
    `Nothing was planned: ${head.errors.length} error${head.errors.length === 1 ? "" : "s"} in the spec. Fix ${head.errors.length === 1 ? "it" : "them"} and push again.`,
    "",
    ...shown.map((line) => `- ${neutraliseMentions(escapeLine(line))}`),
    ...(head.errors.length > shown.length ? ["", `…and ${head.errors.length - shown.length} more.`] : []),
    "",
  ];
  const body = lines.join("\n");
  if (body.length <= limit) return { body, truncated: false };
  return { body: `${body.slice(0, Math.max(0, limit - 2))}…\n`, truncated: true };
}
