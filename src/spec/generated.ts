/**
 * Types of the fleet spec as written in YAML (bosun.dev/v1alpha1), generated from schemas/*.schema.json by
 * scripts/gen-spec-types.mjs. Do not edit: change the schema and run `node scripts/gen-spec-types.mjs`.
 * The normalized spec, after defaults are merged, is in src/spec/types.ts.
 */

/** The fleet of a bosun repository (bosun.dev/v1alpha1), in fleet.yaml: defaults merged under every Cluster, rollout waves, maintenance windows and alerting. */
export interface FleetDocument {
  /** Version of the spec format. Always "bosun.dev/v1alpha1". */
  apiVersion: "bosun.dev/v1alpha1";
  /** Always "Fleet". */
  kind: "Fleet";
  metadata: FleetMetadata;
  spec: FleetSpec;
}

/** The fleet's name. */
export interface FleetMetadata {
  /** Fleet name; a DNS-1123 label. Shown in plans and alerts. */
  name: string;
}

/** Fleet-wide settings. */
export interface FleetSpec {
  defaults?: ClusterSpec;
  rollout?: Rollout;
  /** Maintenance windows. A cluster selected by an allow window is changed only inside one of its allow windows; a deny window blocks changes while it is open. */
  windows?: Window[];
  alerting?: Alerting;
  /** Helm chart repositories the add-ons may use, as URL prefixes (scheme, host and port equal; path at a segment boundary). Narrows what the operator allows (--allowed-chart-repos): a chart must be under both. The plan of a pull request takes this list from the base branch, never from the pull request. Unset: whatever the operator allows. */
  chartRepositories?: string[];
}

/** The order in which a change reaches the clusters. */
export interface Rollout {
  /** Waves in order. Each cluster belongs to the first wave whose selector matches its labels; every cluster must be in a wave. A failed wave halts every wave after it. Without rollout, all clusters form one wave named default. */
  waves: Wave[];
  /** When true, the daemon (bosun run) starts no new step on any cluster until this is false again; a running step finishes. Plans are still computed and drift is still reported. Default false. */
  paused?: boolean;
}

/** One rollout wave. */
export interface Wave {
  /** Wave name, unique in the fleet; a DNS-1123 label. */
  name: string;
  selector: Selector;
  /** Clusters of this wave changed at the same time. Default 1. */
  maxConcurrent?: number;
  /** How long the wave must stay healthy after its last change before the next wave starts, as a duration. Default 0s. */
  soak?: string;
  /** Let the next wave start although a cluster of this wave was skipped: unreachable, deferred (outside its maintenance window) or blocked by its plan. Default false: a skipped cluster holds the rollout, as a failed one does, so a canary that could not be changed never lets production go first. */
  continueOnSkip?: boolean;
  /** How the daemon (bosun run) applies a new revision to this wave: auto (the merged pull request is the approval) or manual (it waits for bosun approve of that revision for this wave). bosun apply from a terminal is not affected. Default auto. */
  apply?: "auto" | "manual";
  drift?: DriftPolicy;
}

/** A label selector over cluster labels, as in Kubernetes. An empty selector ({}) selects every cluster. */
export interface Selector {
  /** Labels a cluster must have, with these values. */
  matchLabels?: Record<string, string>;
  /** Further requirements; all must hold. */
  matchExpressions?: SelectorRequirement[];
}

/** One requirement on a label. */
export interface SelectorRequirement {
  /** The label key. */
  key: string;
  /** In and NotIn compare with values; Exists and DoesNotExist take no values. */
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  /** Label values for In and NotIn. */
  values?: string[];
}

/** A maintenance window: opens at each time its cron schedule fires, in its time zone, and stays open for its duration. */
export interface Window {
  /** Window name, unique in the fleet; a DNS-1123 label. */
  name: string;
  /** allow: changes happen only inside the window. deny: no changes while it is open (a freeze). */
  kind: "allow" | "deny";
  /** When the window opens, as a five-field cron expression (minute hour day-of-month month day-of-week). */
  schedule: string;
  /** How long the window stays open, as a duration such as 6h. */
  duration: string;
  /** IANA time zone the schedule is read in, e.g. Europe/Berlin or UTC. */
  timeZone: string;
  selector?: Selector;
  /** Operations the window governs. Default all of them. */
  operations?: ("upgrade" | "addons" | "backup")[];
}

/** Where drift and failure alerts go, how often a firing alert is sent again and when an unreachable cluster is alerted on. */
export interface Alerting {
  /** Alert receivers: generic webhooks, Alertmanagers and Slack-compatible incoming webhooks. */
  receivers?: Receiver[];
  /** Generic webhooks in the first form of this field, with the first event names (drift, failed, halted, blocked); kept valid. Prefer receivers. */
  webhooks?: Webhook[];
  /** How long after it was sent a still-firing alert is sent again, as a duration such as 4h. Default 4h. */
  repeatInterval?: string;
  /** How long a cluster must stay unreachable before cluster-unreachable fires, as a duration such as 10m. Default 10m. */
  unreachableAfter?: string;
}

/** One alert receiver. Its URL and signing key are read from environment variables at send time, because they are credentials. */
export interface Receiver {
  /** Receiver name, unique in the fleet; a DNS-1123 label. */
  name: string;
  /** webhook: bosun's JSON payload, signed when secretFromEnv is set. alertmanager: the Alertmanager v2 API, the URL being its base (http://alertmanager:9093). slack: a Slack-compatible incoming webhook. */
  type: "webhook" | "alertmanager" | "slack";
  /** Name of the environment variable holding the receiver's URL. */
  urlFromEnv: string;
  /** Name of the environment variable holding the HMAC-SHA256 key of the X-Bosun-Signature header; webhook receivers only. */
  secretFromEnv?: string;
  /** Events sent to this receiver. Default all of them. */
  events?: ("drift" | "drift-resolved" | "apply-failed" | "wave-halted" | "backup-stale" | "backup-failed" | "invalid-spec" | "cluster-unreachable")[];
}

/** One generic webhook in the first form of alerting. Its URL is read from an environment variable, because webhook URLs are credentials. Event names map to today's: drift to drift and drift-resolved, failed to apply-failed and backup-failed, halted to wave-halted, blocked to invalid-spec and cluster-unreachable. */
export interface Webhook {
  /** Receiver name, unique in the fleet; a DNS-1123 label. */
  name: string;
  /** Name of the environment variable holding the webhook URL. */
  urlFromEnv: string;
  /** Events sent to this receiver. Default all of them. */
  events?: ("drift" | "failed" | "halted" | "blocked")[];
}

/** One cluster of a bosun fleet (bosun.dev/v1alpha1): how to reach it, which driver upgrades it, and its desired Kubernetes version, topology, add-ons and etcd backups. Fields left out are taken from the Fleet's spec.defaults. */
export interface ClusterDocument {
  /** Version of the spec format. Always "bosun.dev/v1alpha1". */
  apiVersion: "bosun.dev/v1alpha1";
  /** Always "Cluster". */
  kind: "Cluster";
  metadata: ClusterMetadata;
  spec: ClusterSpec;
}

/** The cluster's name and labels. Labels are what rollout waves and maintenance windows select on. */
export interface ClusterMetadata {
  /** Cluster name, unique in the fleet; a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters). Plans, logs and errors identify the cluster by it. */
  name: string;
  labels?: Labels;
}

/** Key/value labels, with Kubernetes label syntax. Wave and window selectors match on them. */
export type Labels = Record<string, string>;

/** Desired state of a cluster. In a Fleet's spec.defaults every field is optional and is merged under each Cluster's spec: maps merge deeply, add-ons merge by name, connection and provider are replaced as a whole, and every other list is replaced. */
export interface ClusterSpec {
  connection?: Connection;
  provider?: Provider;
  kubernetes?: KubernetesSpec;
  upgrade?: UpgradePolicy;
  topology?: Topology;
  backup?: BackupPolicy;
  drift?: DriftPolicy;
  /** Add-ons installed in the cluster, Helm charts or Kustomize overlays. Merged with the defaults by name: an entry replaces the default of the same name, and enabled: false removes it. */
  addons?: Addon[];
}

/** What the daemon (bosun run) does when a cluster that had converged at the current revision no longer matches it (a hand edit): it always records and reports the drift with its diff; with correct: true it also applies the plan that reverts it. Set on a cluster (or in spec.defaults) or on a rollout wave; the cluster's setting wins. */
export interface DriftPolicy {
  /** Revert drift by applying the plan (in the cluster's maintenance windows, like any change). Default false: report only. */
  correct?: boolean;
}

/** How bosun reaches the cluster's API server: exactly one of context or kubeconfig. Credentials never live in the fleet repository. */
export interface Connection {
  /** A context of the kubeconfig bosun runs with ($KUBECONFIG, else ~/.kube/config). */
  context?: string;
  kubeconfig?: KubeconfigRef;
}

/** A kubeconfig file outside the fleet repository: exactly one of path or env, and optionally the context to use in it. */
export interface KubeconfigRef {
  /** Path of the kubeconfig file on the machine running bosun (absolute, or relative to its working directory; ~/ is the home directory). */
  path?: string;
  /** Name of an environment variable holding the kubeconfig file's path, e.g. a CI secret. */
  env?: string;
  /** Context to use in that kubeconfig; its current-context when left out. */
  context?: string;
}

/** The upgrade driver that manages this cluster's control plane and nodes: exactly one of kubeadm or clusterAPI. */
export interface Provider {
  kubeadm?: KubeadmProvider;
  clusterAPI?: ClusterAPIProvider;
}

/** A self-managed kubeadm cluster: bosun upgrades each node in turn with a Job running kubeadm and the node's package manager. */
export interface KubeadmProvider {
  /** How the kubelet and kubeadm packages are installed on the nodes. Default apt. */
  packageManager?: "apt" | "dnf" | "yum";
  /** A shell script in the fleet repository that replaces bosun's node upgrade script (for nodes that do not install Kubernetes from the pkgs.k8s.io apt or yum repositories). It runs as root under chroot on the node with BOSUN_VERSION (1.35.4), BOSUN_MINOR (1.35), BOSUN_PHASE (control-plane or kubelet), BOSUN_ROLE (control-plane or worker) and BOSUN_KUBEADM (apply or node) set; see docs/apply.md. */
  upgradeScript?: string;
}

/** A workload cluster managed by Cluster API: bosun patches its KubeadmControlPlane and MachineDeployments in the management cluster. */
export interface ClusterAPIProvider {
  /** Kubeconfig context of the management cluster. */
  context: string;
  /** Namespace of the Cluster object in the management cluster. */
  namespace: string;
  /** Name of the Cluster object in the management cluster. */
  name: string;
}

/** The Kubernetes release the cluster should run. */
export interface KubernetesSpec {
  /** Desired Kubernetes version, MAJOR.MINOR.PATCH without a leading v, in quotes (e.g. "1.34.2"). bosun upgrades one minor at a time to reach it and never downgrades. */
  version?: string;
}

/** How upgrades are carried out. */
export interface UpgradePolicy {
  /** strict: workers follow the control plane at every minor step. efficient: workers may skip minors as long as kubelet version skew holds at every step. Default strict. */
  skewPolicy?: "strict" | "efficient";
  /** The version an intermediate rung of the upgrade ladder targets, one per minor (e.g. ["1.34.10"] to stop at 1.34.10 on the way to 1.35). A minor not listed goes to its latest patch in bosun's bundled table of Kubernetes releases; the plan says which source each version came from. Each entry must be below the desired version's minor. */
  intermediateVersions?: string[];
  drain?: DrainPolicy;
  workers?: WorkerPolicy;
}

/** Draining a node before its kubelet is upgraded. */
export interface DrainPolicy {
  /** How long evictions may take before the step fails, as a duration such as 10m or 1h30m. Default 10m. */
  timeout?: string;
}

/** Upgrading worker nodes. */
export interface WorkerPolicy {
  /** Worker nodes upgraded at the same time: a number (at least 1) or a percentage of the workers such as "25%". Default 1. */
  maxUnavailable?: number | string;
}

/** High-availability topology of the control plane and etcd. */
export interface Topology {
  controlPlane?: ControlPlaneTopology;
  etcd?: EtcdTopology;
  /** The API server endpoint every node uses (kubeadm's controlPlaneEndpoint), as host:port. */
  endpoint?: string;
}

/** Control-plane nodes. */
export interface ControlPlaneTopology {
  /** Number of control-plane nodes; odd, so a stacked etcd keeps quorum. Default 1. */
  replicas?: number;
  /** Failure zones (topology.kubernetes.io/zone) the control-plane nodes are spread over. */
  zones?: string[];
}

/** Where etcd runs. */
export interface EtcdTopology {
  /** stacked: one etcd member on each control-plane node. external: etcd runs elsewhere, at endpoints. Default stacked. */
  mode?: "stacked" | "external";
  /** Client URLs of the external etcd members (mode external only); an odd number. */
  endpoints?: string[];
}

/** Backups bosun schedules in the cluster. */
export interface BackupPolicy {
  etcd?: EtcdBackup;
}

/** Periodic etcd snapshots: a CronJob on the control-plane nodes that saves, checks and prunes snapshots. */
export interface EtcdBackup {
  /** Set to false to turn off etcd backups that the defaults turn on. Default true. */
  enabled?: boolean;
  /** When snapshots are taken, as a five-field cron expression (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly. Required when backups are on. */
  schedule?: string;
  /** Number of snapshots kept. Default 7. */
  retain?: number;
  /** Take a verified snapshot before any control-plane upgrade step, and block the upgrade if it fails. Default true. */
  beforeUpgrade?: boolean;
  destination?: BackupDestination;
}

/** Where snapshots are written. */
export interface BackupDestination {
  /** Absolute directory on the control-plane node. */
  hostPath: string;
}

/** One add-on: exactly one of helm or kustomize, unless enabled is false. */
export interface Addon {
  /** Add-on name, unique in the cluster; a DNS-1123 label. It is the Helm release name and the value of the bosun.dev/addon label. */
  name: string;
  /** false removes an add-on that the defaults define. Default true. */
  enabled?: boolean;
  /** Namespace of the add-on. Helm: the release namespace, default the add-on's name. Kustomize: when set, the namespace given to every namespaced object. */
  namespace?: string;
  helm?: HelmSource;
  kustomize?: KustomizeSource;
  /** Names of add-ons of the same cluster that must be installed and healthy first. */
  dependsOn?: string[];
  /** How long installing or upgrading the add-on may take, health checks included, as a duration. Default 5m. */
  timeout?: string;
}

/** A Helm chart: a chart directory in the fleet repository, or repo + chart + version. */
export interface HelmSource {
  /** Without repo: path of a chart directory in the fleet repository. With repo: the chart's name in that repository. */
  chart: string;
  /** Chart repository URL (https:// or oci://). A chart from a repository must pin its version. */
  repo?: string;
  /** Exact chart version (a semantic version; ranges are not pinned and are rejected). Required with repo. */
  version?: string;
  /** Chart values, merged over the values files. */
  values?: Record<string, unknown>;
  /** Values files in the fleet repository, applied in order before values. */
  valuesFiles?: string[];
  /** Values that are secrets: each is read from an environment variable of the machine running bosun when the add-on is planned or applied, set at its path over values, and masked in every plan, diff, log and error. The fleet repository holds only the variable's name. */
  secretValues?: SecretValue[];
}

/** One secret chart value taken from the environment. */
export interface SecretValue {
  /** Dot-separated path of the value in the chart's values, e.g. auth.password: letters, digits, '_' and '-' between the dots; no part may be __proto__, constructor or prototype. */
  path: string;
  /** Name of the environment variable holding the value. */
  env: string;
}

/** A Kustomize overlay in the fleet repository, built with kustomize and applied server-side. */
export interface KustomizeSource {
  /** Directory holding a kustomization.yaml, relative to the fleet directory. */
  path: string;
}
