/**
 * Pure readers of what Cluster API shows in a management cluster: the `Cluster`, the `KubeadmControlPlane`
 * its `spec.controlPlaneRef` names, and the cluster's `MachineDeployment`s, combined with the workload
 * cluster's Nodes into {@link ObservedClusterAPI}. `observe.ts` fetches; everything here is data in, data
 * out, so it is unit-tested on plain objects.
 *
 * What Cluster API (v1beta1) writes, for reference:
 * - `Cluster.spec.controlPlaneRef` is an object reference (`apiVersion`, `kind`, `name`, usually
 *   `namespace`) to the control-plane object, for kubeadm a `KubeadmControlPlane` of
 *   `controlplane.x-k8s.io`; it lives in the Cluster's namespace.
 * - `KubeadmControlPlane.spec.version` and `MachineDeployment.spec.template.spec.version` are `vX.Y.Z`;
 *   `spec.replicas` defaults to 1 when unset. `KubeadmControlPlane.status.version` is the oldest version
 *   among the control-plane machines and is absent until the first machine reports.
 * - Every MachineDeployment carries the label `cluster.x-k8s.io/cluster-name=<Cluster name>`.
 */
import { identity } from "../../identity.js";
import { parseNodes, withoutV, type NodeLike } from "../../kube/nodes.js";
import type { ObservedClusterAPI } from "../../plan/observed.js";

/** The Cluster API groups and the version bosun reads them at. */
export const CAPI = {
  clusterGroup: "cluster.x-k8s.io",
  controlPlaneGroup: "controlplane.x-k8s.io",
  version: "v1beta1",
} as const;

/** The label Cluster API puts on every object of a cluster, naming the `Cluster`. */
export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";

/** The only control-plane kind the driver upgrades. */
export const KUBEADM_CONTROL_PLANE = "KubeadmControlPlane";

/** A problem that makes the cluster unobservable as specified, for people. */
export interface Invalid {
  invalid: string;
}

/** Namespace and name of one object. */
export interface ObjectKey {
  namespace: string;
  name: string;
}

/** The parts of a `Cluster` bosun reads. */
export interface ClusterLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?: {
    controlPlaneRef?: { apiVersion?: string | undefined; kind?: string | undefined; namespace?: string | undefined; name?: string | undefined } | undefined;
    /** Set when the Cluster is built from a ClusterClass: then the version lives here. */
    topology?: { version?: string | undefined } | undefined;
  } | undefined;
}

/** The parts of a `KubeadmControlPlane` bosun reads. */
export interface ControlPlaneLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?: { version?: string | undefined; replicas?: number | undefined } | undefined;
  status?: { version?: string | undefined; readyReplicas?: number | undefined; updatedReplicas?: number | undefined } | undefined;
}

/** The parts of a `MachineDeployment` bosun reads. */
export interface MachineDeploymentLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?: {
    replicas?: number | undefined;
    template?: { spec?: { version?: string | undefined } | undefined } | undefined;
  } | undefined;
  status?: { readyReplicas?: number | undefined; updatedReplicas?: number | undefined } | undefined;
}

// MAJOR.MINOR.PATCH with an optional pre-release or build suffix (after the leading v is dropped).
const VERSION = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/;

/** API path of the `Cluster` named by `ref`. */
export function clusterPath(ref: ObjectKey): string {
  return `/apis/${CAPI.clusterGroup}/${CAPI.version}/namespaces/${encodeURIComponent(ref.namespace)}/clusters/${encodeURIComponent(ref.name)}`;
}

/** API path of the `KubeadmControlPlane` named by `ref`. */
export function controlPlanePath(ref: ObjectKey): string {
  return `/apis/${CAPI.controlPlaneGroup}/${CAPI.version}/namespaces/${encodeURIComponent(ref.namespace)}/kubeadmcontrolplanes/${encodeURIComponent(ref.name)}`;
}

/** API path of the MachineDeployments of a namespace (listed with {@link machineDeploymentSelector}). */
export function machineDeploymentsPath(namespace: string): string {
  return `/apis/${CAPI.clusterGroup}/${CAPI.version}/namespaces/${encodeURIComponent(namespace)}/machinedeployments`;
}

/** The label selector of a cluster's MachineDeployments. */
export function machineDeploymentSelector(cluster: string): string {
  return `${CLUSTER_NAME_LABEL}=${cluster}`;
}

/**
 * The KubeadmControlPlane a Cluster's `spec.controlPlaneRef` names, or why it names none bosun can use.
 * `management` is the management cluster's name, for the messages.
 */
export function controlPlaneRefOf(management: string, ref: ObjectKey, cluster: ClusterLike): ObjectKey | Invalid {
  const id = identity({ cluster: management, group: CAPI.clusterGroup, kind: "Cluster", ...ref });
  if (cluster.spec?.topology !== undefined) {
    // Cluster API's topology controller owns the KubeadmControlPlane and MachineDeployments of a
    // ClusterClass cluster and would undo a direct patch of their versions.
    return {
      invalid: `${id} is built from a ClusterClass (spec.topology): its version is spec.topology.version, which bosun does not manage yet; patching its ${KUBEADM_CONTROL_PLANE} would be undone by Cluster API`,
    };
  }
  const cp = cluster.spec?.controlPlaneRef;
  if (!cp?.name) {
    return { invalid: `${id} has no spec.controlPlaneRef: bosun upgrades Cluster API clusters through their ${KUBEADM_CONTROL_PLANE}` };
  }
  const group = (cp.apiVersion ?? "").split("/")[0];
  if (cp.kind !== KUBEADM_CONTROL_PLANE || group !== CAPI.controlPlaneGroup) {
    return {
      invalid:
        `${id}: its control plane is a ${cp.kind ?? "(no kind)"} of ${cp.apiVersion ?? "(no apiVersion)"}; ` +
        `bosun upgrades Cluster API clusters through a ${KUBEADM_CONTROL_PLANE} (${CAPI.controlPlaneGroup}) only`,
    };
  }
  return { namespace: cp.namespace ?? ref.namespace, name: cp.name };
}

/**
 * Combines what was read into {@link ObservedClusterAPI}: the control plane from the KubeadmControlPlane,
 * one entry per MachineDeployment (sorted by name), and the workload cluster's Nodes. Returns `{ invalid }`
 * when a version the planner needs is missing or is not a version.
 */
export function clusterAPIFromObjects(
  management: string,
  ref: ObjectKey,
  controlPlaneRef: ObjectKey,
  controlPlane: ControlPlaneLike,
  machineDeployments: readonly MachineDeploymentLike[],
  nodes: readonly NodeLike[],
): ObservedClusterAPI | Invalid {
  const kcpId = identity({ cluster: management, group: CAPI.controlPlaneGroup, kind: KUBEADM_CONTROL_PLANE, ...controlPlaneRef });
  const version = parseVersion(controlPlane.spec?.version);
  if (version === null) return { invalid: `${kcpId} has no valid spec.version (${JSON.stringify(controlPlane.spec?.version ?? null)})` };
  const statusVersion = parseVersion(controlPlane.status?.version);

  const workers: ObservedClusterAPI["machineDeployments"] = [];
  const sorted = [...machineDeployments].sort((a, b) => compare(a.metadata?.name ?? "", b.metadata?.name ?? ""));
  for (const md of sorted) {
    const name = md.metadata?.name ?? "";
    const mdVersion = parseVersion(md.spec?.template?.spec?.version);
    if (mdVersion === null) {
      const mdId = identity({ cluster: management, group: CAPI.clusterGroup, kind: "MachineDeployment", namespace: md.metadata?.namespace ?? ref.namespace, name });
      return { invalid: `${mdId} has no valid spec.template.spec.version (${JSON.stringify(md.spec?.template?.spec?.version ?? null)})` };
    }
    workers.push({
      name,
      version: mdVersion,
      replicas: md.spec?.replicas ?? 1,
      readyReplicas: md.status?.readyReplicas ?? 0,
      updatedReplicas: md.status?.updatedReplicas ?? 0,
    });
  }

  return {
    kind: "clusterAPI",
    cluster: `${ref.namespace}/${ref.name}`,
    controlPlane: {
      name: `${controlPlaneRef.namespace}/${controlPlaneRef.name}`,
      version,
      replicas: controlPlane.spec?.replicas ?? 1,
      statusVersion,
      readyReplicas: controlPlane.status?.readyReplicas ?? 0,
      updatedReplicas: controlPlane.status?.updatedReplicas ?? 0,
    },
    machineDeployments: workers,
    nodes: parseNodes(nodes),
  };
}

/** `v1.34.2` → `1.34.2`; null when absent, empty or not a version. */
function parseVersion(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const version = withoutV(raw);
  return VERSION.test(version) ? version : null;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
