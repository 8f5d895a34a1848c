/**
 * The plan of a pull request (or merge request): the fleet at the request's head, planned against the
 * live clusters, read-only, under the base branch's policy.
 *
 * A pull request is written by anyone who can open one, so nothing in it decides how it is treated:
 * - the policy sections of the Fleet document (rollout, windows, alerting, `chartRepositories`) come from
 *   the base branch's loaded revision (`loadFleet`'s `basePolicy`); the desired state (defaults, clusters,
 *   add-ons) from the head;
 * - the operator's policy (allowed variables, chart repositories, internal hosts, remote kustomize) is
 *   the daemon's own, narrowed by the base branch's `chartRepositories`, and checked again before every
 *   render; kubeconfig credential plugins never run, whatever the operator allows for the daemon's own
 *   applies;
 * - the source is fetched with the same limits as every fleet source (transfer, entries, bytes, depth),
 *   and the spec is read with the spec's size limits;
 * - the plan observes and dry-runs only (`planFleet` sends no write but server-side dry-runs).
 */
import { formatIssue, type SpecIssue } from "../spec/issues.js";
import { loadFleet, type FleetPolicy } from "../spec/load.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import type { Plan } from "../plan/types.js";
import type { RenderCache } from "../addons/render-cache.js";
import { planFleet } from "../observe/plan-fleet.js";
import { openFleetSource } from "../source/index.js";

/** The base a pull request is planned against: the daemon's target revision. */
export interface PullRequestBase {
  revision: string;
  /** The fleet's name at the base: the comment's marker, whatever the head renames it to. */
  fleet: string;
  policy: FleetPolicy;
}

/** What planning a pull request needs. */
export interface PullRequestPlanInput {
  /** The fleet repository (the daemon's `--repo`). */
  repo: string;
  /** The head's ref in that repository (`refs/pull/7/head`, `refs/merge-requests/7/head`) or commit. */
  ref: string;
  base: PullRequestBase;
  env: NodeJS.ProcessEnv;
  /** The operator's policy (the daemon's). */
  policy: RepoPolicy;
  clusterTimeoutMs: number;
  now: Date;
  renderCache?: RenderCache;
}

/** A pull request's plan, or why its head has none. */
export type PullRequestPlan =
  | { kind: "plan"; revision: string; plan: Plan }
  | { kind: "invalid"; revision: string; fleet: string; errors: SpecIssue[] };

/** The operator's policy narrowed by the base branch's `chartRepositories`. */
export function pullRequestPolicy(operator: RepoPolicy, base: FleetPolicy): RepoPolicy {
  return base.chartRepositories === undefined ? operator : { ...operator, fleetChartRepos: base.chartRepositories };
}

/** Fetches the head, loads it under the base's policy and plans every cluster. */
export async function planPullRequest(input: PullRequestPlanInput): Promise<PullRequestPlan> {
  const opened = await openFleetSource({ repo: input.repo, ref: input.ref, env: input.env });
  const revision = opened.revision ?? input.ref;
  const policy = pullRequestPolicy(input.policy, input.base.policy);
  const loaded = await loadFleet(opened.dir, { policy, basePolicy: input.base.policy });
  if (!loaded.ok) return { kind: "invalid", revision, fleet: input.base.fleet, errors: loaded.errors };
  const result = await planFleet({
    source: { repo: input.repo, ref: revision },
    opened,
    loaded: loaded.value,
    clusters: [],
    env: input.env,
    clusterTimeoutMs: input.clusterTimeoutMs,
    now: input.now,
    policy,
    // A pull request never runs a program of a kubeconfig it names, whatever the daemon's own applies may.
    allowExecPlugins: false,
    ...(input.renderCache ? { renderCache: input.renderCache } : {}),
  });
  if (!result.ok) return { kind: "invalid", revision, fleet: input.base.fleet, errors: result.errors };
  // The comment's marker names the base's fleet: a head that renames the fleet updates the same comment.
  return { kind: "plan", revision, plan: { ...result.plan, fleet: input.base.fleet } };
}

/** The errors of an invalid head as lines `file:line:col: message`. */
export function invalidLines(errors: readonly SpecIssue[]): string[] {
  return errors.map(formatIssue);
}
