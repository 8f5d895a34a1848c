/**
 * What the observers saw in one live cluster: the planner's second input (the first is the desired
 * fleet). Everything here is plain data, already reduced to what planning needs: versions per node, the
 * add-on render and dry-run results with their diffs (masked before they were turned into text), and the
 * backup CronJob's state. Observers (`src/drivers/<name>/observe.ts`, `src/addons/observe.ts`,
 * `src/backup/observe.ts`) produce it; `src/plan/plan.ts` consumes it without any I/O.
 */

/** One cluster as observed: reachable and read, unreachable, or not observable as specified. */
export type ObservedCluster = ObservedReachable | ObservedUnreachable | ObservedInvalid;

/** The cluster could not be talked to (connection refused, timeout, TLS, 401/403). */
export interface ObservedUnreachable {
  name: string;
  status: "unreachable";
  /** Why, for people: the first failure, without credentials. */
  reason: string;
}

/**
 * The cluster was reached but does not match what its spec says it is (its kubeconfig context does not
 * exist, a kubeadm cluster without `kubeadm-config`, a Cluster API object that does not exist…).
 */
export interface ObservedInvalid {
  name: string;
  status: "invalid";
  reason: string;
}

/** A reachable, fully observed cluster. */
export interface ObservedReachable {
  name: string;
  status: "observed";
  driver: ObservedKubeadm | ObservedClusterAPI;
  addons: ObservedAddons;
  backup: ObservedBackup;
  /** What the pre-upgrade checks read; observed only while the cluster is not at its desired version. */
  readiness?: ObservedReadiness;
  /** API requests the observation made, all observers together (diff dry-runs counted apart). */
  requests: { observe: number; diff: number };
}

/** One Node of the cluster. */
export interface ObservedNode {
  name: string;
  role: "control-plane" | "worker";
  /** `topology.kubernetes.io/zone`, if set. */
  zone: string | null;
  ready: boolean;
  unschedulable: boolean;
  /** `status.nodeInfo.kubeletVersion` without the leading `v`. */
  kubelet: string;
}

/** The static control-plane pods of one control-plane node (image tags without `v`; null when absent). */
export interface ObservedControlPlaneNode {
  node: string;
  apiserver: string | null;
  controllerManager: string | null;
  scheduler: string | null;
  /** The stacked etcd member's image tag, null without a stacked etcd pod on this node. */
  etcd: string | null;
  /** Whether every static control-plane pod on the node is Ready. */
  ready: boolean;
}

/** What the kubeadm driver observes (DESIGN section 4). */
export interface ObservedKubeadm {
  kind: "kubeadm";
  /** `ClusterConfiguration.kubernetesVersion` of `kube-system/kubeadm-config`, without `v`. */
  clusterVersion: string;
  controlPlaneEndpoint: string | null;
  etcd: { mode: "stacked"; members: string[] } | { mode: "external"; endpoints: string[] };
  /** Nodes sorted by name. */
  nodes: ObservedNode[];
  /** One entry per control-plane node, sorted by node name. */
  controlPlane: ObservedControlPlaneNode[];
}

/** What the Cluster API driver observes in the management cluster, plus the workload cluster's Nodes. */
export interface ObservedClusterAPI {
  kind: "clusterAPI";
  /** `namespace/name` of the Cluster object. */
  cluster: string;
  controlPlane: {
    /** `namespace/name` of the KubeadmControlPlane. */
    name: string;
    /** `spec.version` without `v`. */
    version: string;
    replicas: number;
    /** `status.version` without `v`, null until reported. */
    statusVersion: string | null;
    readyReplicas: number;
    updatedReplicas: number;
  };
  /** MachineDeployments of the cluster, sorted by name. */
  machineDeployments: {
    name: string;
    version: string;
    replicas: number;
    readyReplicas: number;
    updatedReplicas: number;
  }[];
  /** Nodes of the workload cluster, sorted by name. */
  nodes: ObservedNode[];
}

/** Add-ons: what bosun installed before (its inventory) and, per desired add-on, the render and diff. */
export interface ObservedAddons {
  /** Add-ons bosun's inventory says it installed, in the order it installed them; empty when none. */
  installed: InstalledAddon[];
  /** One entry per desired add-on of the cluster, in the desired (dependency) order. */
  desired: AddonObservation[];
}

/** An add-on recorded in the cluster's inventory (`bosun-system/bosun-inventory`). */
export interface InstalledAddon {
  name: string;
  kind: "helm" | "kustomize";
  namespace: string | null;
  /** Identities (`Kind/namespace/name`) of the objects applied for it (Kustomize add-ons). */
  objects: string[];
}

/** One desired add-on compared with the cluster. */
export type AddonObservation = HelmAddonObservation | KustomizeAddonObservation;

/** A Helm add-on: its release (from the release records) and the desired render diffed against live. */
export interface HelmAddonObservation {
  name: string;
  kind: "helm";
  namespace: string;
  /** The latest revision of the release, or null when there is no release of that name. */
  release: {
    revision: number;
    /** `deployed`, `failed`, `pending-install`, `pending-upgrade`, `pending-rollback`, `superseded`, `uninstalling`… */
    status: string;
    chart: string;
    chartVersion: string;
  } | null;
  render: RenderOutcome & { chart?: string; chartVersion?: string; chartDigest?: string; valuesDiff?: string | null };
  /** Upgrade targets the chart does not render for (`helm template --kube-version`), with helm's message. */
  targetRefusals?: { version: string; error: string }[];
}

/** A Kustomize add-on: its inventory entry and the desired build diffed against live. */
export interface KustomizeAddonObservation {
  name: string;
  kind: "kustomize";
  /** Whether the inventory records the add-on as applied. */
  applied: boolean;
  render: RenderOutcome;
}

/** The result of rendering an add-on and dry-running every object. */
export type RenderOutcome =
  | {
      ok: true;
      /** Objects in render order (CRDs and Namespaces first), each with its change. */
      objects: ObjectChange[];
      /** Identities in the previous inventory that the render no longer has (to prune), sorted. */
      prune: string[];
    }
  | {
      ok: false;
      /** Why rendering or dry-running failed, masked. */
      error: string;
    };

/** How one rendered object compares with the live cluster. */
export interface ObjectChange {
  /** `Kind/namespace/name` (or `Kind/name` when cluster-scoped). */
  id: string;
  /**
   * create: not in the cluster; update: the server-side dry-run differs from live; unchanged;
   * unserved: the cluster does not serve the kind yet (a CRD the add-on itself installs).
   */
  action: "create" | "update" | "unchanged" | "unserved";
  /** Unified diff of live → desired, secrets masked; empty when unchanged. */
  diff: string;
}

/** The backup CronJob (`kube-system/bosun-etcd-backup`) and its last successful run. */
export interface ObservedBackup {
  /** The CronJob's comparison with the desired template; null when backups are not desired. */
  change: ObjectChange | null;
  /** Whether a bosun backup CronJob exists in the cluster. */
  present: boolean;
  /** `status.lastSuccessfulTime` of the CronJob (RFC 3339), null when it never succeeded or is absent. */
  lastSuccessfulTime: string | null;
}

/**
 * What the pre-upgrade checks read from the cluster (`src/observe/readiness.ts`): admission webhooks that
 * fail closed, disruption budgets that allow no eviction, and the deprecated APIs the API server has
 * served. Reduced to what the checks in `src/plan/preflight-checks.ts` need.
 */
export interface ObservedReadiness {
  /** Admission webhooks with `failurePolicy: Fail` that call a Service, with that Service's ready endpoints. */
  webhooks: ObservedWebhook[];
  /** PodDisruptionBudgets whose `status.disruptionsAllowed` is 0, with the nodes their pods run on. */
  budgets: ObservedBudget[];
  /** `apiserver_requested_deprecated_apis` of the API server answering; null when its /metrics could not be read. */
  deprecatedApis: ObservedDeprecatedApi[] | null;
  /**
   * Objects of the cluster's Helm releases and of bosun's inventory written in an API version some
   * release removes (`api-removals.ts`), whether or not the target removes it yet.
   */
  manifestObjects: ManifestObject[];
  /** What could not be read (each check that lacks its input says so rather than passing). */
  problems: string[];
}

/** One object a Helm release or bosun's inventory holds in an API version that is removed some day. */
export interface ManifestObject {
  /** Where it is recorded: \`Helm release <namespace>/<name>\` or \`add-on <name>\`. */
  source: string;
  apiVersion: string;
  kind: string;
  /** \`namespace/name\`, or \`name\` for a cluster-scoped object. */
  object: string;
}

/** One fail-closed admission webhook that calls a Service. */
export interface ObservedWebhook {
  kind: "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration";
  /** The configuration's name. */
  configuration: string;
  /** The webhook's name inside it. */
  webhook: string;
  /** `namespace/name` of the Service it calls. */
  service: string;
  /** Endpoints of that Service's EndpointSlices that are ready. */
  readyEndpoints: number;
}

/** A PodDisruptionBudget that allows no disruption now. */
export interface ObservedBudget {
  /** `namespace/name`. */
  name: string;
  /** Nodes its selected pods run on, sorted. */
  nodes: string[];
}

/** One deprecated API the API server served since it started, with the release that removes it. */
export interface ObservedDeprecatedApi {
  group: string;
  version: string;
  resource: string;
  /** `MAJOR.MINOR`, the metric's `removed_release`; empty when the API server names none. */
  removedRelease: string;
}
