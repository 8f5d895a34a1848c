/**
 * The pure decisions of the Cluster API driver's executor (`execute.ts`): whether a step may act on the
 * objects as they are right now (the skew guards), and whether a KubeadmControlPlane or MachineDeployment
 * has converged on what the step asked for. Objects in, verdicts out — so every rule is table-tested
 * without a cluster, and `execute.ts` is left with reading, patching and waiting.
 *
 * Why guard again when the planner already planned a skew-safe ladder: the plan may be minutes or days
 * old (`bosun apply --plan`), and someone may have moved a version by hand since. Every check runs on what
 * was read just before the patch, never on what the plan said.
 */
import { BosunError } from "../../errors.js";
import { withoutV } from "../../kube/nodes.js";
import { kubeletSkewAllowance, kubeletTooOld } from "../../plan/skew.js";
import { compareVersions, formatVersion, minorDistance, parseVersion, type KubeVersion } from "../../plan/versions.js";

/** The parts of a `KubeadmControlPlane` the executor reads. */
export interface ControlPlaneView {
  metadata?: { name?: string | undefined; namespace?: string | undefined; generation?: number | undefined } | undefined;
  spec?: { version?: string | undefined; replicas?: number | undefined } | undefined;
  status?: {
    version?: string | undefined;
    replicas?: number | undefined;
    readyReplicas?: number | undefined;
    updatedReplicas?: number | undefined;
    observedGeneration?: number | undefined;
  } | undefined;
}

/** The parts of a `MachineDeployment` the executor reads. */
export interface MachineDeploymentView {
  metadata?: {
    name?: string | undefined;
    namespace?: string | undefined;
    generation?: number | undefined;
    labels?: Record<string, string> | undefined;
  } | undefined;
  spec?: {
    clusterName?: string | undefined;
    replicas?: number | undefined;
    template?: { spec?: { version?: string | undefined } | undefined } | undefined;
  } | undefined;
  status?: {
    replicas?: number | undefined;
    readyReplicas?: number | undefined;
    updatedReplicas?: number | undefined;
    observedGeneration?: number | undefined;
  } | undefined;
}

/** A kubelet of the workload cluster, as its Node reports it. */
export interface KubeletView {
  node: string;
  /** `status.nodeInfo.kubeletVersion`, with or without the leading `v`. */
  version: string;
}

/**
 * What a step may do with one object: `patch` it, only `wait` because it already carries the step's value
 * (an earlier, interrupted run patched it), or `refuse` — nothing is changed, and `reason` says why.
 */
export type StepDecision = { action: "patch" } | { action: "wait" } | { action: "refuse"; reason: string };

/** Whether an object has converged on what a step asked for, and what was seen (for progress and errors). */
export interface Progress {
  converged: boolean;
  /** What the object showed, for people: `status.version v1.34.0, 2/3 replicas updated, 3/3 ready`. */
  seen: string;
}

/** The phase of a Cluster API step that failed. */
export type ClusterAPIStepPhase = "guard" | "patch" | "wait";

/**
 * A Cluster API step failed. `guard`: refused before anything was changed (reason `ApplyFailed`); `patch`:
 * the API server refused the patch (`ApplyFailed`); `wait`: the object did not converge in time
 * (`HealthTimeout`, retryable: the rollout may still finish) or the run stopped while waiting.
 */
export class ClusterAPIStepError extends BosunError {
  override readonly phase: ClusterAPIStepPhase;
  constructor(phase: ClusterAPIStepPhase, message: string, options: { identity: string; cause?: unknown; retryable?: boolean; timeout?: boolean }) {
    super(message, {
      reason: options.timeout === true ? "HealthTimeout" : "ApplyFailed",
      phase,
      identity: options.identity,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      retryable: options.retryable ?? options.timeout === true,
    });
    this.phase = phase;
  }
}

/** `1.34.2` or `v1.34.2` → `v1.34.2`: the form Cluster API writes versions in. */
export function capiVersion(version: string): string {
  return `v${withoutV(version)}`;
}

/**
 * May the KubeadmControlPlane move to `target`? Refused when the target is a downgrade, skips a minor of
 * the version its machines run (`status.version`, the oldest of them; `spec.version` until it is
 * reported), is older than what `spec.version` already asks for, or would leave a MachineDeployment's
 * kubelets — or any kubelet the workload cluster's Nodes report — further behind than the skew policy
 * allows (3 minors, 2 for kubelets older than 1.25). `wait` when `spec.version` already is the target.
 *
 * A Node whose kubelet version does not parse (empty: never reported; a vendor suffix) is not judged: its
 * MachineDeployment's version stands for it.
 */
export function controlPlaneUpgradeDecision(
  kcp: ControlPlaneView,
  target: string,
  machineDeployments: readonly MachineDeploymentView[],
  kubelets: readonly KubeletView[],
): StepDecision {
  const to = parseVersion(withoutV(target));
  if (!to.ok) return refuse(`the target ${JSON.stringify(target)} is not a version`);
  const spec = parseVersion(withoutV(kcp.spec?.version ?? ""));
  if (!spec.ok) return refuse(`its spec.version ${JSON.stringify(kcp.spec?.version ?? null)} is not a version`);
  const statusText = kcp.status?.version;
  const status = statusText === undefined ? spec : parseVersion(withoutV(statusText));
  if (!status.ok) return refuse(`its status.version ${JSON.stringify(statusText)} is not a version`);
  const want = formatVersion(to.version);
  const running = formatVersion(status.version);

  if (compareVersions(to.version, status.version) < 0) {
    return refuse(`its machines run v${running}; v${want} would be a downgrade, which bosun never does`);
  }
  if (compareVersions(spec.version, to.version) > 0) {
    return refuse(`its spec.version is already ${capiVersion(formatVersion(spec.version))}, newer than the step's v${want}; the plan is out of date: plan again`);
  }
  const distance = minorDistance(status.version, to.version);
  if (distance === undefined) return refuse(`its machines run v${running}; v${want} is another major version, which bosun does not upgrade to`);
  if (distance > 1) {
    return refuse(`its machines run v${running}; v${want} would skip ${distance - 1} minor version${distance === 2 ? "" : "s"} (kube-apiserver moves one minor at a time)`);
  }
  for (const md of machineDeployments) {
    const raw = md.spec?.template?.spec?.version ?? "";
    const version = parseVersion(withoutV(raw));
    const name = md.metadata?.name ?? "(unnamed)";
    if (!version.ok) return refuse(`MachineDeployment ${name} has no valid spec.template.spec.version (${JSON.stringify(raw)}), so kubelet skew cannot be checked`);
    const problem = kubeletTooOldFor(version.version, to.version, "the new control plane");
    if (problem) return refuse(`MachineDeployment ${name} runs kubelets at ${capiVersion(raw)}: ${problem}; upgrade its workers first`);
  }
  for (const kubelet of kubelets) {
    const version = parseVersion(withoutV(kubelet.version));
    if (!version.ok) continue;
    const problem = kubeletTooOldFor(version.version, to.version, "the new control plane");
    if (problem) return refuse(`Node ${kubelet.node} runs kubelet ${capiVersion(kubelet.version)}: ${problem}`);
  }
  return compareVersions(spec.version, to.version) === 0 ? { action: "wait" } : { action: "patch" };
}

/**
 * May a MachineDeployment's machines move to `target`? Refused when the target is newer than the version
 * every control-plane machine already runs (the KubeadmControlPlane's `status.version`, the oldest of
 * them — a kubelet must never be newer than an apiserver), too old for the control plane's `spec.version`,
 * or a downgrade of the MachineDeployment. `wait` when `spec.template.spec.version` already is the target.
 */
export function workersUpgradeDecision(md: MachineDeploymentView, target: string, kcp: ControlPlaneView): StepDecision {
  const to = parseVersion(withoutV(target));
  if (!to.ok) return refuse(`the target ${JSON.stringify(target)} is not a version`);
  const want = formatVersion(to.version);
  const statusText = kcp.status?.version;
  if (statusText === undefined) return refuse(`its KubeadmControlPlane has not reported status.version yet, so kubelet skew cannot be checked`);
  const controlPlane = parseVersion(withoutV(statusText));
  if (!controlPlane.ok) return refuse(`its KubeadmControlPlane's status.version ${JSON.stringify(statusText)} is not a version`);
  if (compareVersions(to.version, controlPlane.version) > 0) {
    return refuse(`v${want} is newer than the control plane (KubeadmControlPlane status.version ${capiVersion(statusText)}); kubelets never run ahead of the apiservers: upgrade the control plane first`);
  }
  const controlPlaneSpec = parseVersion(withoutV(kcp.spec?.version ?? ""));
  if (controlPlaneSpec.ok) {
    const problem = kubeletTooOldFor(to.version, controlPlaneSpec.version, "the control plane's spec.version");
    if (problem) return refuse(`v${want} is ${problem}`);
  }
  const raw = md.spec?.template?.spec?.version ?? "";
  const current = parseVersion(withoutV(raw));
  if (!current.ok) return refuse(`its spec.template.spec.version ${JSON.stringify(raw || null)} is not a version`);
  if (compareVersions(to.version, current.version) < 0) {
    return refuse(`its machines are at ${capiVersion(raw)}; v${want} would be a downgrade, which bosun never does`);
  }
  return compareVersions(to.version, current.version) === 0 ? { action: "wait" } : { action: "patch" };
}

/**
 * May the KubeadmControlPlane be scaled to `replicas`? Refused for anything but an odd number of at least
 * one (a stacked etcd needs an odd number of members to keep quorum); `wait` when `spec.replicas` already
 * asks for it.
 */
export function scaleDecision(kcp: ControlPlaneView, replicas: number): StepDecision {
  if (!Number.isInteger(replicas) || replicas < 1) return refuse(`${replicas} control-plane replicas: at least one is needed`);
  if (replicas % 2 === 0) return refuse(`${replicas} control-plane replicas: the number must be odd (1, 3, 5, …) so etcd keeps quorum`);
  return (kcp.spec?.replicas ?? 1) === replicas ? { action: "wait" } : { action: "patch" };
}

/**
 * Has the KubeadmControlPlane converged? Its controller saw the latest spec (`status.observedGeneration`
 * ≥ `metadata.generation`), every machine runs `spec.version` (`status.version` equals it), and
 * `status.replicas`, `updatedReplicas` and `readyReplicas` all equal `spec.replicas`. `want` adds what
 * the step asked for: a version `spec.version` must be at, a number of replicas `spec.replicas` must be.
 */
export function controlPlaneProgress(kcp: ControlPlaneView, want: { version?: string; replicas?: number }): Progress {
  const specVersion = kcp.spec?.version;
  const statusVersion = kcp.status?.version;
  const replicas = kcp.spec?.replicas ?? 1;
  const status = kcp.status ?? {};
  const generation = kcp.metadata?.generation;
  const observed = status.observedGeneration;
  const current = generation === undefined || (observed !== undefined && observed >= generation);
  const specMatches = want.version === undefined || (specVersion !== undefined && capiVersion(specVersion) === capiVersion(want.version));
  const replicasMatch = want.replicas === undefined || replicas === want.replicas;
  const converged =
    current &&
    specMatches &&
    replicasMatch &&
    specVersion !== undefined &&
    statusVersion !== undefined &&
    capiVersion(statusVersion) === capiVersion(specVersion) &&
    (status.replicas ?? 0) === replicas &&
    (status.updatedReplicas ?? 0) === replicas &&
    (status.readyReplicas ?? 0) === replicas;
  const parts = [
    `status.version ${statusVersion ?? "(none)"}${specMatches ? "" : ` (spec.version ${specVersion ?? "(none)"})`}`,
    replicaCounts(status, replicas),
  ];
  if (!current) parts.push(`observedGeneration ${observed ?? "(none)"} of ${String(generation)}`);
  return { converged, seen: parts.join(", ") };
}

/**
 * Has the MachineDeployment converged on `version`? `spec.template.spec.version` is it, its controller saw
 * the latest spec, and `status.replicas`, `updatedReplicas` and `readyReplicas` all equal `spec.replicas`.
 * (A MachineDeployment's status carries no version: "updated" means "made from the current template".)
 */
export function machineDeploymentProgress(md: MachineDeploymentView, version: string): Progress {
  const specVersion = md.spec?.template?.spec?.version;
  const replicas = md.spec?.replicas ?? 1;
  const status = md.status ?? {};
  const generation = md.metadata?.generation;
  const observed = status.observedGeneration;
  const current = generation === undefined || (observed !== undefined && observed >= generation);
  const specMatches = specVersion !== undefined && capiVersion(specVersion) === capiVersion(version);
  const converged =
    current &&
    specMatches &&
    (status.replicas ?? 0) === replicas &&
    (status.updatedReplicas ?? 0) === replicas &&
    (status.readyReplicas ?? 0) === replicas;
  const parts = [
    ...(specMatches ? [] : [`spec.template.spec.version ${specVersion ?? "(none)"}`]),
    replicaCounts(status, replicas),
  ];
  if (!current) parts.push(`observedGeneration ${observed ?? "(none)"} of ${String(generation)}`);
  return { converged, seen: parts.join(", ") };
}

/**
 * `3/3 replicas, 2 updated, 3 ready`; `3 replicas (spec.replicas 1), …` while the number differs from the
 * spec (a scale under way), so it never reads as a fraction.
 */
function replicaCounts(status: { replicas?: number | undefined; updatedReplicas?: number | undefined; readyReplicas?: number | undefined }, spec: number): string {
  const have = status.replicas ?? 0;
  const count = have === spec ? `${have}/${spec} replicas` : `${have} replica${have === 1 ? "" : "s"} (spec.replicas ${spec})`;
  return `${count}, ${status.updatedReplicas ?? 0} updated, ${status.readyReplicas ?? 0} ready`;
}

/** Why a kubelet at `kubelet` is too old for a control plane at `controlPlane` (named `which`), or undefined. */
function kubeletTooOldFor(kubelet: KubeVersion, controlPlane: KubeVersion, which: string): string | undefined {
  if (!kubeletTooOld(kubelet, controlPlane)) return undefined;
  return `more than ${kubeletSkewAllowance(kubelet)} minor versions older than ${which} v${formatVersion(controlPlane)}, which the version-skew policy does not allow`;
}

function refuse(reason: string): StepDecision {
  return { action: "refuse", reason };
}
