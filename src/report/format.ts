/**
 * Wording shared by the text and markdown renderers, so a terminal and a pull request say the same thing
 * in the same words: the summary sentence, version ranges, the revision, the time. Pure functions of the
 * plan; nothing here reads a clock or the environment.
 */
import type { ClusterPlan, ClusterStatus, Plan, StepState, VersionRange } from "../plan/types.js";

/** Cluster statuses in the order summaries list them. */
export const CLUSTER_STATUSES = ["in-sync", "changes", "blocked", "unreachable", "invalid"] as const satisfies readonly ClusterStatus[];
/** Step states in the order summaries list them. */
export const STEP_STATES = ["pending", "blocked", "manual"] as const satisfies readonly StepState[];

// Compile-time guards: adding a status or state to src/plan/types.ts without listing it here is a type error.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : false;
const _allStatuses: Missing<ClusterStatus, (typeof CLUSTER_STATUSES)[number]> = true;
const _allStates: Missing<StepState, (typeof STEP_STATES)[number]> = true;

/** Statuses that need attention: the renderers colour them red and open their sections. */
export function isTrouble(status: ClusterStatus): boolean {
  return status === "blocked" || status === "unreachable" || status === "invalid";
}

/** How a status reads in a sentence ("2 with changes"). */
const STATUS_PHRASE: Readonly<Record<ClusterStatus, string>> = {
  "in-sync": "in sync",
  changes: "with changes",
  blocked: "blocked",
  unreachable: "unreachable",
  invalid: "invalid",
};

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * The one-line summary: "4 clusters: 1 in sync, 2 with changes, 1 unreachable; 9 steps pending, 1 blocked".
 * Zero counts are left out. Computed from the clusters themselves, not from `plan.summary`, so it can never
 * contradict what the rest of the rendering shows.
 */
export function summaryLine(plan: Plan): string {
  const statuses = CLUSTER_STATUSES.map((status) => [status, plan.clusters.filter((c) => c.status === status).length] as const)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${STATUS_PHRASE[status]}`);
  const clusters = `${plural(plan.clusters.length, "cluster")}${statuses.length > 0 ? `: ${statuses.join(", ")}` : ""}`;
  const counts = stepCounts(plan.clusters);
  const states = STEP_STATES.filter((state) => counts[state] > 0);
  const steps = states.map((state, i) => (i === 0 ? `${plural(counts[state], "step")} ${state}` : `${counts[state]} ${state}`));
  return `${clusters}; ${steps.length > 0 ? steps.join(", ") : "no steps"}`;
}

/** Steps per state over the given clusters. */
export function stepCounts(clusters: readonly ClusterPlan[]): Record<StepState, number> {
  const counts: Record<StepState, number> = { pending: 0, blocked: 0, manual: 0 };
  for (const cluster of clusters) for (const step of cluster.steps) counts[step.state] += 1;
  return counts;
}

/** "2 pending, 1 blocked" for one cluster (zero counts left out), or "no steps". */
export function clusterCountsText(cluster: ClusterPlan): string {
  const counts = stepCounts([cluster]);
  const parts = STEP_STATES.filter((state) => counts[state] > 0).map((state) => `${counts[state]} ${state}`);
  return parts.length > 0 ? parts.join(", ") : "no steps";
}

function rangeText(range: VersionRange): string {
  return range.oldest === range.newest ? range.oldest : `${range.oldest}..${range.newest}`;
}

function groupText(label: string, range: VersionRange, desired: string): string {
  const atDesired = range.oldest === desired && range.newest === desired;
  return `${label} ${rangeText(range)}${atDesired ? "" : ` → ${desired}`}`;
}

/**
 * A cluster's versions: "control plane 1.33.13 → 1.35.4, workers 1.33.13..1.34.4 → 1.35.4"; a group
 * already at the desired version has no arrow. "1.35.4 desired, not observed" when nothing was observed.
 */
export function versionsText(cluster: ClusterPlan): string {
  const { desired, controlPlane, workers } = cluster.versions;
  const groups: string[] = [];
  if (controlPlane) groups.push(groupText("control plane", controlPlane, desired));
  if (workers) groups.push(groupText("workers", workers, desired));
  return groups.length > 0 ? groups.join(", ") : `${desired} desired, not observed`;
}

/** The revision as people quote it: the first 7 characters of the commit, or "local". */
export function shortRevision(plan: Plan): string {
  return plan.revision === null ? "local" : plan.revision.slice(0, 7);
}

/** Where the fleet came from, in a few words: "main of https://…" or "directory fleet-example". */
export function sourceText(plan: Plan): string {
  return plan.source.kind === "git" ? `${plan.source.ref} of ${plan.source.url}` : `directory ${plan.source.path}`;
}

/** "2026-11-23 12:00:00 UTC" for an RFC 3339 UTC time; anything else unchanged. */
export function timeText(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return match ? `${match[1] ?? ""} ${match[2] ?? ""} UTC` : iso;
}

/**
 * Makes text safe to print: control characters other than newline and tab (an ANSI escape in a tool's
 * stderr, a carriage return that would overwrite a line, a C1 CSI such as U+009B) become visible `\xHH`,
 * so content from a fleet repository, a cluster or a tool can never drive the terminal or hide itself.
 * The one escaping function of every renderer and of the CLI's own output (`src/cli/output.ts`).
 */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, hexEscape);
}

/**
 * {@link visible} for text that must stay on one line (a spec problem, a progress line): newlines and tabs
 * are escaped too, so a value quoted in a message cannot forge a line of its own.
 */
export function visibleLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, hexEscape);
}

/**
 * JSON text with DEL and the C1 controls as `\u00XX` escapes. `JSON.stringify` escapes U+0000–U+001F
 * itself but leaves U+007F–U+009F raw, and a terminal may obey U+009B as CSI; outside strings JSON text is
 * plain ASCII, so the replacement only ever touches string contents and the value parses the same.
 */
export function visibleJson(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function hexEscape(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/** The lines of a diff or message without the newline that ends the last one. */
export function lines(text: string): string[] {
  return text.replace(/\n$/, "").split("\n");
}
