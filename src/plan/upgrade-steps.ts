/**
 * The planner's upgrade steps (DESIGN section 4): the ladder's rungs (`ladder.ts`) as `backup.snapshot`,
 * `controlPlane.upgrade` and `workers.upgrade` steps with their targets, blocked while the observed cluster
 * fails the preflight. Pure.
 */
import type { DesiredCluster } from "../spec/types.js";
import { externalEtcdProblem } from "./backup-steps.js";
import { describeVersionSource, versionSource } from "./intermediate-versions.js";
import { controlPlaneRungBlocks, upgradeBlocks } from "./preflight-checks.js";
import type { Rung, VersionMove } from "./ladder.js";
import type { ObservedClusterAPI, ObservedKubeadm, ObservedReachable } from "./observed.js";
import type { VersionState } from "./skew.js";
import type { Step, VersionSource } from "./types.js";
import { compareVersions, formatVersion, parseVersion, type KubeVersion } from "./versions.js";

/**
 * The steps of the version ladder's rungs: a verified `backup.snapshot` before the first control-plane rung
 * when the policy asks for one, then per rung `controlPlane.upgrade` and `workers.upgrade`.
 */
export function upgradeSteps(desired: DesiredCluster, observed: ObservedReachable, state: VersionState<string>, rungs: readonly Rung[]): Step[] {
  const driver = observed.driver;
  const clusterBlocks = [preflightProblem(driver), ...upgradeBlocks(observed.readiness)].filter((p): p is string => p !== undefined);
  const blockedReason = clusterBlocks.length > 0 ? clusterBlocks.join("; ") : undefined;
  const upgradeState = blockedReason === undefined ? ("pending" as const) : ("blocked" as const);
  const withReason = blockedReason === undefined ? {} : { reason: blockedReason };
  // Once a rung is blocked, every later step waits for it: the ladder is one path.
  let carried: string | undefined = blockedReason;
  const stateOf = (): { state: "pending" | "blocked"; reason?: string } => (carried === undefined ? { state: "pending" } : { state: "blocked", reason: carried });
  const steps: Step[] = [];
  const sourceOf = rungSource(desired, state);
  const firstControlPlane = rungs.find((rung) => rung.controlPlane);
  if (firstControlPlane?.controlPlane && desired.backup.etcd?.beforeUpgrade) {
    const to = formatVersion(firstControlPlane.controlPlane.to);
    const external = externalEtcdProblem(desired);
    steps.push({
      id: `${desired.name}/backup.snapshot/${to}`,
      kind: "backup.snapshot",
      ...(external ? { state: "blocked" as const, reason: external } : { state: upgradeState, ...withReason }),
      summary: `take and verify an etcd snapshot to ${desired.backup.etcd.destination.hostPath} before the control plane moves to ${to}`,
    });
  }
  for (const rung of rungs) {
    if (rung.controlPlane) {
      const from = formatVersion(rung.controlPlane.from);
      const to = formatVersion(rung.controlPlane.to);
      const targets = controlPlaneTargets(driver, state, to);
      const source = sourceOf(rung.controlPlane);
      const rungBlocks = [...controlPlaneRungBlocks(observed.readiness, driver, rung.controlPlane.to), ...addonRefusals(observed, to)];
      const rungReason = carried ?? (rungBlocks.length > 0 ? rungBlocks.join("; ") : undefined);
      steps.push({
        id: `${desired.name}/controlPlane.upgrade/${to}`,
        kind: "controlPlane.upgrade",
        ...(rungReason === undefined ? { state: "pending" as const } : { state: "blocked" as const, reason: rungReason }),
        from,
        to,
        versionSource: source.source,
        targets,
        summary:
          driver.kind === "kubeadm"
            ? `upgrade the control plane ${from} → ${to}${source.note}, one node at a time: ${targets.join(", ")}`
            : `set KubeadmControlPlane ${driver.controlPlane.name} to v${to}${source.note} and wait for its rollout`,
      });
      if (carried === undefined && rungReason !== undefined) carried = `the control-plane rung to ${to} is blocked: ${rungReason}`;
    }
    if (rung.workers) {
      const from = formatVersion(rung.workers.from);
      const to = formatVersion(rung.workers.to);
      const targets = workerTargets(driver, to);
      const batchSize = batchSizeOf(desired, driver);
      const source = sourceOf(rung.workers);
      steps.push({
        id: `${desired.name}/workers.upgrade/${to}`,
        kind: "workers.upgrade",
        ...stateOf(),
        from,
        to,
        versionSource: source.source,
        targets,
        batchSize,
        summary:
          driver.kind === "kubeadm"
            ? `upgrade ${targets.length} worker${targets.length === 1 ? "" : "s"} ${from} → ${to}${source.note}, ${batchSize} at a time (drain, upgrade, uncordon)`
            : `set MachineDeployment${targets.length === 1 ? "" : "s"} ${targets.join(", ")} to v${to}${source.note} and wait for the rollout`,
      });
    }
  }
  return steps;
}

/** Helm add-ons whose chart does not render for `to`: the rung would leave them behind or broken. */
function addonRefusals(observed: ObservedReachable, to: string): string[] {
  return observed.addons.desired.flatMap((addon) =>
    addon.kind === "helm"
      ? (addon.targetRefusals ?? [])
          .filter((refusal) => refusal.version === to)
          .map((refusal) => `add-on ${addon.name}${addon.render.ok && addon.render.chart ? ` (chart ${addon.render.chart} ${addon.render.chartVersion ?? ""})` : ""} does not render for Kubernetes ${to}: ${refusal.error}`)
      : [],
  );
}

/** Where each move's target version came from, and the note the summary gives it. */
function rungSource(desired: DesiredCluster, state: VersionState<string>): (move: VersionMove) => { source: VersionSource; note: string } {
  const parsed = parseVersion(desired.kubernetes.version);
  const observed = [...state.controlPlane.flatMap((n) => [n.apiserver, n.controllerManager, n.scheduler, n.kubelet]), ...state.workers]
    .map(parseVersion)
    .flatMap((result): KubeVersion[] => (result.ok ? [result.version] : []));
  return (move) => {
    // The ladder only plans when the desired version parses, so the fallback never shows.
    const target = parsed.ok ? parsed.version : move.to;
    const source = versionSource(desired.upgrade, move.to, target, observed);
    // The desired version needs no note: it is the one the spec names.
    return { source, note: source === "kubernetes.version" ? "" : ` (${describeVersionSource(source, move.to)})` };
  };
}

/** What stops an upgrade from starting: the preflight DESIGN section 4 asks for, as far as observation tells. */
function preflightProblem(driver: ObservedKubeadm | ObservedClusterAPI): string | undefined {
  if (driver.kind === "kubeadm") {
    const notReady = driver.nodes.filter((n) => n.role === "control-plane" && !n.ready).map((n) => n.name);
    if (notReady.length > 0) return `control-plane node${notReady.length === 1 ? "" : "s"} ${notReady.join(", ")} not Ready`;
    const podsNotReady = driver.controlPlane.filter((n) => !n.ready).map((n) => n.node);
    if (podsNotReady.length > 0) return `static control-plane pods not Ready on ${podsNotReady.join(", ")}`;
    return undefined;
  }
  const cp = driver.controlPlane;
  if (cp.statusVersion !== null && cp.statusVersion !== cp.version) {
    return `KubeadmControlPlane ${cp.name} is still rolling out v${cp.version} (status v${cp.statusVersion})`;
  }
  if (cp.readyReplicas < cp.replicas || cp.updatedReplicas < cp.replicas) {
    return `KubeadmControlPlane ${cp.name} has ${cp.readyReplicas}/${cp.replicas} replicas ready and ${cp.updatedReplicas} updated`;
  }
  return undefined;
}

function below(version: string, to: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(to);
  return a.ok && b.ok && compareVersions(a.version, b.version) < 0;
}

function controlPlaneTargets(driver: ObservedKubeadm | ObservedClusterAPI, state: VersionState<string>, to: string): string[] {
  if (driver.kind === "clusterAPI") return [driver.controlPlane.name];
  // A control-plane node is a target when any of its components is below the rung (the ladder raises only those).
  return driver.controlPlane
    .filter((node, i) => {
      const versions = state.controlPlane[i];
      return versions !== undefined && [versions.apiserver, versions.controllerManager, versions.scheduler, versions.kubelet].some((v) => below(v, to));
    })
    .map((node) => node.node);
}

function workerTargets(driver: ObservedKubeadm | ObservedClusterAPI, to: string): string[] {
  if (driver.kind === "clusterAPI") return driver.machineDeployments.filter((md) => below(md.version, to)).map((md) => md.name);
  return driver.nodes.filter((n) => n.role === "worker" && below(n.kubelet, to)).map((n) => n.name);
}

function batchSizeOf(desired: DesiredCluster, driver: ObservedKubeadm | ObservedClusterAPI): number {
  const max = desired.upgrade.maxUnavailable;
  if (max.kind === "count") return max.count;
  const workers = driver.nodes.filter((n) => n.role === "worker").length;
  return Math.max(1, Math.floor((workers * max.percent) / 100));
}
