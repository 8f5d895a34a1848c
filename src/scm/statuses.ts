/**
 * Commit statuses of a plan: one per cluster (context `bosun/<cluster>`) and an overall `bosun/plan`, the
 * same for GitHub and GitLab. A cluster in sync or with changes is a success (the change is what the pull
 * request is for); blocked, invalid or unreachable is a failure, so branch protection can require
 * `bosun/plan`. Descriptions carry the step counts and fit the hosts' 140 characters; they are plain text
 * on one line with control characters made visible.
 */
import type { ClusterPlan, ClusterStatus, Plan } from "../plan/types.js";
import { clusterCountsText, summaryLine, visibleLine } from "../report/format.js";

/** The longest description GitHub keeps (GitLab's limit is larger). */
export const STATUS_DESCRIPTION_LIMIT = 140;

/** The context of the overall status. */
export const OVERALL_STATUS_CONTEXT = "bosun/plan";

/** Closed vocabulary of the states bosun sets. */
export type CommitState = "success" | "failure";

/** One commit status, host-neutral. */
export interface CommitStatus {
  /** `bosun/<cluster>` or `bosun/plan`. */
  context: string;
  /** The cluster, absent for the overall status. */
  cluster?: string;
  state: CommitState;
  /** At most {@link STATUS_DESCRIPTION_LIMIT} characters, one line. */
  description: string;
}

/** Whether a cluster's status fails its commit status. */
export function failsStatus(status: ClusterStatus): boolean {
  return status === "blocked" || status === "invalid" || status === "unreachable";
}

/** The context of a cluster's status. */
export function clusterStatusContext(cluster: string): string {
  return `bosun/${visibleLine(cluster)}`;
}

/** The statuses of `plan`: one per cluster in plan order, then the overall one. Pure. */
export function planStatuses(plan: Plan): CommitStatus[] {
  const statuses: CommitStatus[] = plan.clusters.map((cluster) => ({
    context: clusterStatusContext(cluster.name),
    cluster: cluster.name,
    state: failsStatus(cluster.status) ? "failure" : "success",
    description: clusterDescription(cluster),
  }));
  const failed = plan.clusters.filter((c) => failsStatus(c.status)).length;
  statuses.push({
    context: OVERALL_STATUS_CONTEXT,
    state: failed > 0 ? "failure" : "success",
    description: shorten(summaryLine(plan)),
  });
  return statuses;
}

const STATUS_WORDS: Readonly<Record<ClusterStatus, string>> = {
  "in-sync": "in sync",
  changes: "changes",
  blocked: "blocked",
  unreachable: "unreachable",
  invalid: "invalid",
};

/** "changes: 5 steps (4 pending, 1 manual)", "blocked: 3 steps (1 blocked, 2 pending): <reason>". */
function clusterDescription(cluster: ClusterPlan): string {
  const count = cluster.steps.length;
  const steps = count === 0 ? "no steps" : `${count} step${count === 1 ? "" : "s"} (${clusterCountsText(cluster)})`;
  const firstBlocked = cluster.steps.find((s) => s.state === "blocked" && s.reason !== undefined)?.reason;
  const reason = cluster.reason ?? (cluster.status === "blocked" ? firstBlocked : undefined);
  return shorten(`${STATUS_WORDS[cluster.status]}: ${steps}${reason === undefined ? "" : `: ${reason}`}`);
}

/** One line, at most the limit, cut with an ellipsis. */
function shorten(text: string): string {
  const line = visibleLine(text.replace(/\s*\n\s*/g, " "));
  const chars = Array.from(line);
  return chars.length <= STATUS_DESCRIPTION_LIMIT ? line : `${chars.slice(0, STATUS_DESCRIPTION_LIMIT - 1).join("")}…`;
}

/** The one status of a head whose fleet does not load: `bosun/plan` failed, with the first error. */
export function invalidStatuses(errors: readonly string[]): CommitStatus[] {
  const first = errors[0];
  return [{ context: OVERALL_STATUS_CONTEXT, state: "failure", description: shorten(`invalid: ${errors.length} spec error${errors.length === 1 ? "" : "s"}${first === undefined ? "" : `: ${first}`}`) }];
}
