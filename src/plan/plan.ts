/**
 * The planner: `plan(desired, observed, context) → Plan`. Pure and deterministic (ARCHITECTURE invariant
 * 1): everything it needs is a parameter — the clock reading included — and the same inputs give a
 * byte-identical plan. The observers did all the reading and diffing; this decides which steps follow.
 *
 * This file plans the fleet and each cluster; each step family has its own file (`backup-steps.ts`,
 * `upgrade-steps.ts`, `topology-steps.ts`, `addon-steps.ts`).
 *
 * Step order inside a cluster, and why:
 * 1. `backup.schedule` — backups first, so the cluster is protected before anything else changes.
 * 2. The version ladder (`ladder.ts`): a verified `backup.snapshot` before the first control-plane step
 *    when the policy asks for one, then per rung `controlPlane.upgrade` and `workers.upgrade`.
 * 3. `topology.scale` — after upgrades, so new control-plane nodes join at the target version.
 * 4. Add-ons in dependency order (the spec loader sorted them): `addon.install | addon.upgrade |
 *    addon.apply`, each Kustomize apply followed by its `addon.prune`. After the upgrade, because an add-on
 *    version is chosen for the Kubernetes version the cluster is going to.
 * 5. `addon.uninstall` of add-ons that left the spec, newest-installed first.
 *
 * Step ids are `cluster/kind/subject` so the same change has the same id in every run (the journal of
 * `apply` resumes by id).
 */
import type { DesiredCluster, DesiredFleet } from "../spec/types.js";
import { addonSteps } from "./addon-steps.js";
import { backupFindings, backupScheduleSteps } from "./backup-steps.js";
import { intermediateVersions } from "./intermediate-versions.js";
import { planLadder } from "./ladder.js";
import { readinessFindings } from "./preflight-checks.js";
import { clusterAPIVersionState, versionRanges, versionState } from "./observed-versions.js";
import type { ObservedCluster, ObservedReachable } from "./observed.js";
import { topologyFindings } from "./topology-findings.js";
import { topologyStep } from "./topology-steps.js";
import { PLAN_API_VERSION, type ClusterPlan, type ClusterStatus, type Finding, type Plan, type PlanSource, type Step } from "./types.js";
import { upgradeSteps } from "./upgrade-steps.js";

/** What the plan records about where and when it was computed. */
export interface PlanContext {
  source: PlanSource;
  revision: string | null;
  /** The clock reading, RFC 3339; only used to judge backup freshness and stamp the plan. */
  now: string;
}

/**
 * Plans every cluster that has an observation (the caller observes the clusters it was asked about).
 * Clusters keep the fleet's rollout order: by wave, then by name.
 */
export function plan(desired: DesiredFleet, observed: readonly ObservedCluster[], context: PlanContext): Plan {
  const byName = new Map(observed.map((o) => [o.name, o]));
  const clusters: ClusterPlan[] = [];
  const waves: Plan["waves"] = [];
  for (const wave of desired.waves) {
    const names = wave.clusters.filter((name) => byName.has(name));
    if (names.length === 0) continue;
    waves.push({ name: wave.name, clusters: names });
    for (const name of names) {
      const cluster = desired.clusters.find((c) => c.name === name);
      const seen = byName.get(name);
      if (cluster && seen) clusters.push(planCluster(cluster, seen, context.now));
    }
  }
  return {
    apiVersion: PLAN_API_VERSION,
    fleet: desired.name,
    source: context.source,
    revision: context.revision,
    generatedAt: context.now,
    waves,
    clusters,
    summary: summarize(clusters),
  };
}

/** Counts clusters per status and steps per state. */
export function summarize(clusters: readonly ClusterPlan[]): Plan["summary"] {
  const counts: Record<ClusterStatus, number> = { "in-sync": 0, changes: 0, blocked: 0, unreachable: 0, invalid: 0 };
  const steps = { pending: 0, blocked: 0, manual: 0 };
  for (const cluster of clusters) {
    counts[cluster.status] += 1;
    for (const step of cluster.steps) steps[step.state] += 1;
  }
  return { clusters: counts, steps };
}

/** Plans one cluster. */
export function planCluster(desired: DesiredCluster, observed: ObservedCluster, now: string): ClusterPlan {
  const base = {
    name: desired.name,
    wave: desired.wave,
    driver: desired.provider.kind,
    versions: { desired: desired.kubernetes.version },
  } as const;
  if (observed.status !== "observed") {
    return { ...base, versions: { ...base.versions }, status: observed.status, reason: observed.reason, steps: [], findings: [] };
  }
  const driver = observed.driver;
  if (driver.kind !== desired.provider.kind) {
    const reason = `the spec says the cluster is managed by ${desired.provider.kind}, but it was observed through ${driver.kind}`;
    return { ...base, versions: { ...base.versions }, status: "invalid", reason, steps: [], findings: [] };
  }
  const state = driver.kind === "kubeadm" ? versionState(driver) : clusterAPIVersionState(driver);
  const steps: Step[] = [];
  const findings: Finding[] = [...nodeFindings(observed)];
  const reasons: string[] = [];

  steps.push(...backupScheduleSteps(desired, observed.backup));
  findings.push(...backupFindings(desired, observed.backup, now));

  const ladder = planLadder(state, desired.kubernetes.version, desired.upgrade.skewPolicy, intermediateVersions(desired.upgrade));
  if (ladder.kind === "refused") {
    reasons.push(`upgrade refused: ${ladder.detail}`);
  } else if (ladder.kind === "upgrade") {
    const upgrade = upgradeSteps(desired, observed, state, ladder.rungs);
    steps.push(...upgrade);
    findings.push(...readinessFindings(observed.readiness, drainedNodes(driver, upgrade)));
  }
  const scale = topologyStep(desired, driver);
  if (scale) steps.push(scale);
  findings.push(...topologyFindings(desired, driver));
  steps.push(...addonSteps(desired, observed));

  const blocked = steps.find((step) => step.state === "blocked");
  if (blocked?.reason) reasons.push(blocked.reason);
  const status: ClusterStatus = reasons.length > 0 ? "blocked" : steps.length > 0 ? "changes" : "in-sync";
  return {
    ...base,
    versions: { ...base.versions, ...versionRanges(state) },
    status,
    ...(reasons.length > 0 ? { reason: reasons.join("; ") } : {}),
    steps,
    findings,
  };
}

/** Nodes the upgrade steps drain: their targets (kubeadm), or every node Cluster API rolls. */
function drainedNodes(driver: ObservedReachable["driver"], upgrade: readonly Step[]): string[] {
  if (driver.kind === "clusterAPI") return upgrade.length > 0 ? driver.nodes.map((node) => node.name) : [];
  return upgrade.flatMap((step) => (step.kind === "controlPlane.upgrade" || step.kind === "workers.upgrade" ? step.targets : []));
}

function nodeFindings(observed: ObservedReachable): Finding[] {
  const findings: Finding[] = [];
  for (const node of observed.driver.nodes) {
    if (!node.ready) findings.push({ kind: "node.not-ready", message: `node ${node.name} (${node.role}) is not Ready` });
    if (node.unschedulable) findings.push({ kind: "node.cordoned", message: `node ${node.name} is cordoned (unschedulable)` });
  }
  return findings;
}
