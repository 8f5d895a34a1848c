/**
 * The plan: data, with closed vocabularies (DESIGN section 6, `schemas/plan.schema.json`). What a pull
 * request shows, what `apply` executes and what a drift alert carries. Written to disk with its
 * `apiVersion` and checked on read.
 */

/** The plan format this version of bosun writes and reads. */
export const PLAN_API_VERSION = "bosun.dev/plan/v1";

/** A whole fleet's plan. */
export interface Plan {
  apiVersion: typeof PLAN_API_VERSION;
  /** The fleet's name. */
  fleet: string;
  /** Where the desired state came from, with the resolved commit for Git. */
  source: PlanSource;
  /** The Git commit of the fleet repository, or null for a local directory that is not a Git checkout. */
  revision: string | null;
  /** When the plan was computed (RFC 3339, UTC); the only input that is a clock reading. */
  generatedAt: string;
  /** Waves in rollout order with their clusters. */
  waves: { name: string; clusters: string[] }[];
  /** Clusters in rollout order (wave, then name). */
  clusters: ClusterPlan[];
  summary: PlanSummary;
}

/** Where the fleet was read from. */
export type PlanSource =
  | { kind: "local"; path: string }
  /** `url` never carries credentials. */
  | { kind: "git"; url: string; ref: string; commit: string };

/** Counts over the whole plan. */
export interface PlanSummary {
  clusters: Record<ClusterStatus, number>;
  steps: { pending: number; blocked: number; manual: number };
}

/** Closed vocabulary of cluster statuses. */
export type ClusterStatus = "in-sync" | "changes" | "blocked" | "unreachable" | "invalid";

/** One cluster's plan. */
export interface ClusterPlan {
  name: string;
  wave: string;
  status: ClusterStatus;
  /** Why the cluster is blocked, unreachable or invalid. */
  reason?: string;
  /** The upgrade driver. */
  driver: "kubeadm" | "clusterAPI";
  /** Versions: the desired one and, when observed, the control plane's and the workers' ranges. */
  versions: {
    desired: string;
    controlPlane?: VersionRange;
    workers?: VersionRange;
  };
  /** Steps in execution order. Empty when in sync, unreachable or invalid. */
  steps: Step[];
  /** Things worth knowing that are not steps (a stale backup, a node not Ready). */
  findings: Finding[];
}

/** The oldest and newest version of a group of components. */
export interface VersionRange {
  oldest: string;
  newest: string;
}

/** A note on a cluster that is not a step. */
export interface Finding {
  kind: FindingKind;
  message: string;
  /** What to do about it, in order, when that is more than the message says. */
  runbook?: string[];
}

/** Closed vocabulary of findings. */
export type FindingKind =
  | "backup.stale"
  | "backup.never-succeeded"
  | "node.not-ready"
  | "node.cordoned"
  | "release.unknown"
  | "topology.zone-spread"
  | "topology.zone-unknown"
  | "topology.etcd-mode"
  | "topology.etcd-endpoints"
  | "topology.endpoint"
  | "upgrade.drain-blocked"
  | "upgrade.check-incomplete";

/** Closed vocabulary of step states in a plan. */
export type StepState = "pending" | "blocked" | "manual";

/** Fields every step has. */
interface StepBase {
  /** Stable across runs for the same change: `cluster/kind/subject`. */
  id: string;
  state: StepState;
  /** One line for people. */
  summary: string;
  /** Why the step is blocked. */
  reason?: string;
}

/** A verified etcd snapshot before the first control-plane step. */
export interface BackupSnapshotStep extends StepBase {
  kind: "backup.snapshot";
}

/**
 * Where a rung's target version came from: the desired `kubernetes.version`, the cluster's
 * `upgrade.intermediateVersions`, the bundled release table's latest patch of the minor, a version the
 * cluster already runs (converging an interrupted upgrade), or `MINOR.0` for a minor the table lacks.
 */
export type VersionSource = "kubernetes.version" | "upgrade.intermediateVersions" | "release-table" | "observed" | "minor-zero";

/** One minor (or patch) of the control plane: every control-plane node, one at a time. */
export interface ControlPlaneUpgradeStep extends StepBase {
  kind: "controlPlane.upgrade";
  from: string;
  to: string;
  /** Where `to` came from (absent in plans written before it was recorded). */
  versionSource?: VersionSource;
  /** Nodes in the order they are upgraded (kubeadm); for Cluster API, the KubeadmControlPlane. */
  targets: string[];
}

/** The workers' kubelets to one version, in batches. */
export interface WorkersUpgradeStep extends StepBase {
  kind: "workers.upgrade";
  from: string;
  to: string;
  /** Where `to` came from (absent in plans written before it was recorded). */
  versionSource?: VersionSource;
  /** Nodes (kubeadm) or MachineDeployments (Cluster API) in order. */
  targets: string[];
  /** Nodes upgraded at the same time (kubeadm). */
  batchSize: number;
}

/** A change of the number of control-plane nodes. */
export interface TopologyScaleStep extends StepBase {
  kind: "topology.scale";
  from: number;
  to: number;
  /** The steps to follow by hand when the driver cannot scale (state `manual`). */
  runbook?: string[];
}

/** Installing an add-on that is not in the cluster. */
export interface AddonInstallStep extends StepBase {
  kind: "addon.install";
  addon: string;
  addonKind: "helm" | "kustomize";
  /** Helm: chart and version. */
  chart?: string;
  chartVersion?: string;
  /** Helm from a chart repository: the SHA-256 of the archive the plan rendered; apply installs only that. */
  chartDigest?: string;
  objects: ObjectSummary[];
  diff: string;
}

/** Upgrading a Helm release: chart version, values or live objects differ. */
export interface AddonUpgradeStep extends StepBase {
  kind: "addon.upgrade";
  addon: string;
  chart: string;
  chartVersion: { from: string; to: string };
  /** A chart from a repository: the SHA-256 of the archive the plan rendered; apply installs only that. */
  chartDigest?: string;
  /** Masked unified diff of the release values, empty when unchanged. */
  valuesDiff: string;
  objects: ObjectSummary[];
  diff: string;
}

/** Applying a Kustomize add-on whose objects differ from live. */
export interface AddonApplyStep extends StepBase {
  kind: "addon.apply";
  addon: string;
  objects: ObjectSummary[];
  diff: string;
}

/** Removing objects that left a Kustomize add-on's build. */
export interface AddonPruneStep extends StepBase {
  kind: "addon.prune";
  addon: string;
  /** Identities to delete, sorted. */
  objects: string[];
}

/** Removing an add-on that left the spec. */
export interface AddonUninstallStep extends StepBase {
  kind: "addon.uninstall";
  addon: string;
  addonKind: "helm" | "kustomize";
  namespace: string | null;
}

/** Creating, updating or removing the etcd backup CronJob. */
export interface BackupScheduleStep extends StepBase {
  kind: "backup.schedule";
  action: "create" | "update" | "delete";
  /** The desired schedule, null when deleting. */
  schedule: string | null;
  diff: string;
}

/** One object an add-on step changes. */
export interface ObjectSummary {
  id: string;
  action: "create" | "update" | "unserved";
}

/** Every kind of step. */
export type Step =
  | BackupSnapshotStep
  | ControlPlaneUpgradeStep
  | WorkersUpgradeStep
  | TopologyScaleStep
  | AddonInstallStep
  | AddonUpgradeStep
  | AddonApplyStep
  | AddonPruneStep
  | AddonUninstallStep
  | BackupScheduleStep;

/** The `kind` of a step. */
export type StepKind = Step["kind"];
