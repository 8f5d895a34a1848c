/**
 * The planner: `plan(desired, observed, context) → Plan`. Pure and deterministic (ARCHITECTURE invariant
 * 1): everything it needs is a parameter — the clock reading included — and the same inputs give a
 * byte-identical plan. The observers did all the reading and diffing; this decides which steps follow.
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
import type { DesiredAddon, DesiredCluster, DesiredFleet } from "../spec/types.js";
import { parseCron } from "../spec/cron.js";
import { countFires } from "./cron-fires.js";
import { planLadder, type Rung } from "./ladder.js";
import { versionState } from "./observed-versions.js";
import type {
  HelmAddonObservation,
  KustomizeAddonObservation,
  ObjectChange,
  ObservedBackup,
  ObservedCluster,
  ObservedClusterAPI,
  ObservedKubeadm,
  ObservedReachable,
} from "./observed.js";
import type { VersionState } from "./skew.js";
import {
  PLAN_API_VERSION,
  type ClusterPlan,
  type ClusterStatus,
  type Finding,
  type ObjectSummary,
  type Plan,
  type PlanSource,
  type Step,
  type VersionRange,
} from "./types.js";
import { compareVersions, formatVersion, parseVersion } from "./versions.js";

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

  const ladder = planLadder(state, desired.kubernetes.version, desired.upgrade.skewPolicy);
  if (ladder.kind === "refused") {
    reasons.push(`upgrade refused: ${ladder.detail}`);
  } else if (ladder.kind === "upgrade") {
    steps.push(...upgradeSteps(desired, observed, state, ladder.rungs));
  }
  const scale = topologyStep(desired, driver);
  if (scale) steps.push(scale);
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

/** Cluster API: every control-plane replica runs the KubeadmControlPlane's version; workers their MachineDeployment's. */
export function clusterAPIVersionState(observed: ObservedClusterAPI): VersionState<string> {
  const cp = observed.controlPlane;
  // While a rollout is under way, status.version is the oldest version still running.
  const running = cp.statusVersion ?? cp.version;
  const controlPlane = Array.from({ length: Math.max(cp.replicas, 1) }, () => ({
    apiserver: running,
    controllerManager: running,
    scheduler: running,
    kubelet: running,
  }));
  const workers = observed.machineDeployments.flatMap((md) => Array.from({ length: md.replicas }, () => md.version));
  return { controlPlane, workers };
}

/** The apiservers' and the worker kubelets' version ranges, as the plan shows them. Pure. */
export function versionRanges(state: VersionState<string>): { controlPlane?: VersionRange; workers?: VersionRange } {
  return {
    ...rangeOf(state.controlPlane.map((n) => n.apiserver), "controlPlane"),
    ...rangeOf(state.workers, "workers"),
  };
}

function rangeOf(versions: readonly string[], key: "controlPlane" | "workers"): { controlPlane?: VersionRange; workers?: VersionRange } {
  const parsed = versions.map((v) => parseVersion(v)).flatMap((r) => (r.ok ? [r.version] : []));
  if (parsed.length === 0) return {};
  const sorted = [...parsed].sort(compareVersions);
  const oldest = sorted[0];
  const newest = sorted[sorted.length - 1];
  if (!oldest || !newest) return {};
  return { [key]: { oldest: formatVersion(oldest), newest: formatVersion(newest) } };
}

function nodeFindings(observed: ObservedReachable): Finding[] {
  const findings: Finding[] = [];
  for (const node of observed.driver.nodes) {
    if (!node.ready) findings.push({ kind: "node.not-ready", message: `node ${node.name} (${node.role}) is not Ready` });
    if (node.unschedulable) findings.push({ kind: "node.cordoned", message: `node ${node.name} is cordoned (unschedulable)` });
  }
  return findings;
}

// ---- backups -------------------------------------------------------------------------------------------

function backupScheduleSteps(desired: DesiredCluster, backup: ObservedBackup): Step[] {
  const id = `${desired.name}/backup.schedule`;
  const etcd = desired.backup.etcd;
  if (etcd === null) {
    if (!backup.present) return [];
    return [{ id, kind: "backup.schedule", state: "pending", action: "delete", schedule: null, diff: "", summary: "remove the etcd backup CronJob (backups are off in the spec)" }];
  }
  const change = backup.change;
  if (change === null || change.action === "unchanged") return [];
  const action = change.action === "update" ? "update" : "create";
  const external = externalEtcdProblem(desired);
  const summary =
    action === "create"
      ? `create the etcd backup CronJob: "${etcd.schedule}", keep ${etcd.retain}, to ${etcd.destination.hostPath}`
      : `update the etcd backup CronJob to "${etcd.schedule}", keep ${etcd.retain}, to ${etcd.destination.hostPath}`;
  return [{ id, kind: "backup.schedule", state: external ? "blocked" : "pending", ...(external ? { reason: external } : {}), action, schedule: etcd.schedule, diff: change.diff, summary }];
}

/**
 * Why bosun cannot back up this cluster's etcd: its backup Job snapshots the stacked member on a
 * control-plane node (127.0.0.1:2379 with kubeadm's etcd certificates); an external etcd is reached
 * elsewhere, with other credentials.
 */
function externalEtcdProblem(desired: DesiredCluster): string | undefined {
  if (desired.topology.etcd.mode !== "external") return undefined;
  return "etcd is external: bosun's backups snapshot the stacked etcd member of a control-plane node; back up the external etcd where it runs and set backup.etcd.enabled: false (or beforeUpgrade: false)";
}

function backupFindings(desired: DesiredCluster, backup: ObservedBackup, now: string): Finding[] {
  const etcd = desired.backup.etcd;
  if (etcd === null || !backup.present) return [];
  if (backup.lastSuccessfulTime === null) {
    return [{ kind: "backup.never-succeeded", message: "the etcd backup CronJob has no successful run yet" }];
  }
  const parsed = parseCron(etcd.schedule);
  if (!("schedule" in parsed)) return [];
  // "Older than twice its schedule interval": at least two scheduled runs passed since the last success.
  const missed = countFires(parsed.schedule, new Date(backup.lastSuccessfulTime), new Date(now), 2);
  if (missed < 2) return [];
  return [{ kind: "backup.stale", message: `the last successful etcd backup (${backup.lastSuccessfulTime}) is older than two runs of "${etcd.schedule}"` }];
}

// ---- upgrades ------------------------------------------------------------------------------------------

function upgradeSteps(desired: DesiredCluster, observed: ObservedReachable, state: VersionState<string>, rungs: readonly Rung[]): Step[] {
  const driver = observed.driver;
  const blockedReason = preflightProblem(driver);
  const upgradeState = blockedReason === undefined ? ("pending" as const) : ("blocked" as const);
  const withReason = blockedReason === undefined ? {} : { reason: blockedReason };
  const steps: Step[] = [];
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
      steps.push({
        id: `${desired.name}/controlPlane.upgrade/${to}`,
        kind: "controlPlane.upgrade",
        state: upgradeState,
        ...withReason,
        from,
        to,
        targets,
        summary:
          driver.kind === "kubeadm"
            ? `upgrade the control plane ${from} → ${to}, one node at a time: ${targets.join(", ")}`
            : `set KubeadmControlPlane ${driver.controlPlane.name} to v${to} and wait for its rollout`,
      });
    }
    if (rung.workers) {
      const from = formatVersion(rung.workers.from);
      const to = formatVersion(rung.workers.to);
      const targets = workerTargets(driver, to);
      const batchSize = batchSizeOf(desired, driver);
      steps.push({
        id: `${desired.name}/workers.upgrade/${to}`,
        kind: "workers.upgrade",
        state: upgradeState,
        ...withReason,
        from,
        to,
        targets,
        batchSize,
        summary:
          driver.kind === "kubeadm"
            ? `upgrade ${targets.length} worker${targets.length === 1 ? "" : "s"} ${from} → ${to}, ${batchSize} at a time (drain, upgrade, uncordon)`
            : `set MachineDeployment${targets.length === 1 ? "" : "s"} ${targets.join(", ")} to v${to} and wait for the rollout`,
      });
    }
  }
  return steps;
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

// ---- topology ------------------------------------------------------------------------------------------

function topologyStep(desired: DesiredCluster, driver: ObservedKubeadm | ObservedClusterAPI): Step | undefined {
  const want = desired.topology.controlPlane.replicas;
  const have = driver.kind === "kubeadm" ? driver.controlPlane.length : driver.controlPlane.replicas;
  if (want === have) return undefined;
  const id = `${desired.name}/topology.scale/${want}`;
  if (driver.kind === "clusterAPI") {
    return {
      id,
      kind: "topology.scale",
      state: "pending",
      from: have,
      to: want,
      summary: `scale KubeadmControlPlane ${driver.controlPlane.name} from ${have} to ${want} replicas`,
    };
  }
  const endpoint = driver.controlPlaneEndpoint;
  if (want > have && endpoint === null) {
    return {
      id,
      kind: "topology.scale",
      state: "blocked",
      from: have,
      to: want,
      reason: "kubeadm cannot add control-plane nodes to a cluster initialised without a controlPlaneEndpoint",
      summary: `scale the control plane from ${have} to ${want} nodes`,
    };
  }
  return {
    id,
    kind: "topology.scale",
    state: "manual",
    from: have,
    to: want,
    summary: `scale the control plane from ${have} to ${want} nodes (kubeadm: by hand, with the runbook)`,
    runbook: want > have ? scaleUpRunbook(desired, driver, want - have) : scaleDownRunbook(driver, have - want),
  };
}

function scaleUpRunbook(desired: DesiredCluster, driver: ObservedKubeadm, count: number): string[] {
  const zones = desired.topology.controlPlane.zones;
  const used = new Set(driver.nodes.filter((n) => n.role === "control-plane").map((n) => n.zone));
  const freeZones = zones.filter((z) => !used.has(z));
  return [
    `On an existing control-plane node: \`kubeadm init phase upload-certs --upload-certs\` and note the certificate key.`,
    `On the same node: \`kubeadm token create --print-join-command\`.`,
    `Prepare ${count} new node${count === 1 ? "" : "s"} with kubeadm, kubelet and kubectl at v${desired.kubernetes.version} (the version the steps above bring the cluster to)${freeZones.length > 0 ? `, in zone${freeZones.length === 1 ? "" : "s"} ${freeZones.join(", ")}` : ""}.`,
    `On each new node: run the join command with \`--control-plane --certificate-key <key>\` (it joins through ${driver.controlPlaneEndpoint ?? "the control-plane endpoint"}).`,
    `Add one node at a time and wait for \`kubectl get nodes\` to show it Ready and for its etcd member to be healthy (\`etcdctl endpoint health --cluster\`) before the next, so etcd never loses quorum.`,
    `Run \`bosun plan\` again: the topology step disappears when ${desired.topology.controlPlane.replicas} control-plane nodes are observed.`,
  ];
}

function scaleDownRunbook(driver: ObservedKubeadm, count: number): string[] {
  return [
    `Pick ${count} control-plane node${count === 1 ? "" : "s"} to remove (never the last one in a zone you want to keep).`,
    `For each, one at a time: \`kubectl drain <node> --ignore-daemonsets\`, then on the node \`kubeadm reset\` (removes its etcd member), then \`kubectl delete node <node>\`.`,
    `Check etcd after each removal: \`etcdctl member list\` shows ${driver.controlPlane.length - 1} members or fewer, all started.`,
    `Run \`bosun plan\` again: the topology step disappears when the desired number of control-plane nodes is observed.`,
  ];
}

// ---- add-ons -------------------------------------------------------------------------------------------

function addonSteps(desired: DesiredCluster, observed: ObservedReachable): Step[] {
  const steps: Step[] = [];
  const blockedAddons = new Map<string, string>();
  const byName = new Map(observed.addons.desired.map((a) => [a.name, a]));
  for (const addon of desired.addons) {
    const seen = byName.get(addon.name);
    if (!seen) continue;
    const blockedDependency = addon.dependsOn.find((dep) => blockedAddons.has(dep));
    const addonSteps = seen.kind === "helm" ? helmSteps(desired.name, addon, seen) : kustomizeSteps(desired.name, addon, seen);
    for (const step of addonSteps) {
      if (blockedDependency !== undefined && step.state === "pending") {
        step.state = "blocked";
        step.reason = `depends on ${blockedDependency}, which is blocked`;
      }
      if (step.state === "blocked") blockedAddons.set(addon.name, step.reason ?? "blocked");
    }
    steps.push(...addonSteps);
  }
  const wanted = new Set(desired.addons.map((a) => a.name));
  for (const installed of [...observed.addons.installed].reverse()) {
    if (wanted.has(installed.name)) continue;
    steps.push({
      id: `${desired.name}/addon.uninstall/${installed.name}`,
      kind: "addon.uninstall",
      state: "pending",
      addon: installed.name,
      addonKind: installed.kind,
      namespace: installed.namespace,
      summary:
        installed.kind === "helm"
          ? `uninstall Helm release ${installed.name}${installed.namespace ? ` from ${installed.namespace}` : ""} (removed from the spec)`
          : `delete the ${installed.objects.length} objects of ${installed.name} (removed from the spec)`,
    });
  }
  return steps;
}

function changedObjects(objects: readonly ObjectChange[]): { summaries: ObjectSummary[]; diff: string } {
  const changed = objects.filter((o): o is ObjectChange & { action: ObjectSummary["action"] } => o.action !== "unchanged");
  return {
    summaries: changed.map((o) => ({ id: o.id, action: o.action })),
    diff: changed.map((o) => o.diff).filter((d) => d !== "").join(""),
  };
}

function countText(summaries: readonly ObjectSummary[]): string {
  const creates = summaries.filter((s) => s.action !== "update").length;
  const updates = summaries.length - creates;
  const parts: string[] = [];
  if (creates > 0) parts.push(`${creates} to create`);
  if (updates > 0) parts.push(`${updates} to update`);
  return parts.join(", ");
}

function helmSteps(cluster: string, addon: DesiredAddon, seen: HelmAddonObservation): Step[] {
  const render = seen.render;
  const release = seen.release;
  if (!render.ok) {
    const reason = `${addon.name}: ${render.error}`;
    if (release === null) {
      return [{ id: `${cluster}/addon.install/${addon.name}`, kind: "addon.install", state: "blocked", reason, addon: addon.name, addonKind: "helm", objects: [], diff: "", summary: `install ${addon.name} (cannot render it)` }];
    }
    return [{
      id: `${cluster}/addon.upgrade/${addon.name}`,
      kind: "addon.upgrade",
      state: "blocked",
      reason,
      addon: addon.name,
      chart: release.chart,
      chartVersion: { from: release.chartVersion, to: release.chartVersion },
      valuesDiff: "",
      objects: [],
      diff: "",
      summary: `upgrade ${addon.name} (cannot render it)`,
    }];
  }
  const chart = render.chart ?? addon.name;
  const chartVersion = render.chartVersion ?? "";
  const { summaries, diff } = changedObjects(render.objects);
  if (release === null) {
    return [{
      id: `${cluster}/addon.install/${addon.name}`,
      kind: "addon.install",
      state: "pending",
      addon: addon.name,
      addonKind: "helm",
      chart,
      chartVersion,
      objects: summaries,
      diff,
      summary: `install Helm chart ${chart} ${chartVersion} as ${addon.name} in ${seen.namespace} (${render.objects.length} objects)`,
    }];
  }
  const reasons: string[] = [];
  if (release.chartVersion !== chartVersion || release.chart !== chart) reasons.push(`chart ${release.chart} ${release.chartVersion} → ${chart} ${chartVersion}`);
  const valuesDiff = render.valuesDiff ?? "";
  if (valuesDiff !== "") reasons.push("values changed");
  if (summaries.length > 0) reasons.push(`objects drifted: ${countText(summaries)}`);
  if (release.status !== "deployed") reasons.push(`release is ${release.status}`);
  if (reasons.length === 0) return [];
  return [{
    id: `${cluster}/addon.upgrade/${addon.name}`,
    kind: "addon.upgrade",
    state: "pending",
    addon: addon.name,
    chart,
    chartVersion: { from: release.chartVersion, to: chartVersion },
    valuesDiff,
    objects: summaries,
    diff,
    summary: `upgrade ${addon.name} (revision ${release.revision}): ${reasons.join("; ")}`,
  }];
}

function kustomizeSteps(cluster: string, addon: DesiredAddon, seen: KustomizeAddonObservation): Step[] {
  const render = seen.render;
  if (!render.ok) {
    const reason = `${addon.name}: ${render.error}`;
    return seen.applied
      ? [{ id: `${cluster}/addon.apply/${addon.name}`, kind: "addon.apply", state: "blocked", reason, addon: addon.name, objects: [], diff: "", summary: `apply ${addon.name} (cannot build it)` }]
      : [{ id: `${cluster}/addon.install/${addon.name}`, kind: "addon.install", state: "blocked", reason, addon: addon.name, addonKind: "kustomize", objects: [], diff: "", summary: `install ${addon.name} (cannot build it)` }];
  }
  const { summaries, diff } = changedObjects(render.objects);
  const steps: Step[] = [];
  if (!seen.applied) {
    steps.push({
      id: `${cluster}/addon.install/${addon.name}`,
      kind: "addon.install",
      state: "pending",
      addon: addon.name,
      addonKind: "kustomize",
      objects: summaries,
      diff,
      summary: `apply Kustomize overlay ${sourcePath(addon)} as ${addon.name} (${render.objects.length} objects${summaries.length < render.objects.length ? `, ${render.objects.length - summaries.length} already as desired` : ""})`,
    });
  } else if (summaries.length > 0) {
    steps.push({
      id: `${cluster}/addon.apply/${addon.name}`,
      kind: "addon.apply",
      state: "pending",
      addon: addon.name,
      objects: summaries,
      diff,
      summary: `apply ${addon.name}: ${countText(summaries)}`,
    });
  }
  if (render.prune.length > 0) {
    steps.push({
      id: `${cluster}/addon.prune/${addon.name}`,
      kind: "addon.prune",
      state: "pending",
      addon: addon.name,
      objects: [...render.prune],
      summary: `delete ${render.prune.length} object${render.prune.length === 1 ? "" : "s"} that left ${addon.name}: ${render.prune.join(", ")}`,
    });
  }
  return steps;
}

function sourcePath(addon: DesiredAddon): string {
  return addon.source.kind === "kustomize" ? addon.source.path : addon.name;
}
