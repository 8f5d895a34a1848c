/**
 * Observes a cluster managed through Cluster API (DESIGN section 4) with a constant number of API
 * requests, whatever the number of MachineDeployments or nodes:
 *
 * 1. GET the `Cluster` in the management cluster (its `spec.controlPlaneRef`), then, sent together,
 * 2. GET the `KubeadmControlPlane` it names,
 * 3. LIST the namespace's `MachineDeployment`s with `cluster.x-k8s.io/cluster-name=<name>`,
 * 4. LIST the workload cluster's Nodes.
 *
 * Three requests to the management cluster and one to the workload cluster (a LIST pages at 500 items, so
 * more than 500 MachineDeployments or Nodes cost one request more per 500). Only when an object is missing
 * does one discovery request more tell "not created" from "Cluster API not installed". Interpreting what was
 * read is pure and lives in `parse.ts`.
 */
import { groupOf, identity } from "../../identity.js";
import type { NodeLike } from "../../kube/nodes.js";
import type { KubeRest } from "../../kube/rest.js";
import type { ObservedClusterAPI } from "../../plan/observed.js";
import { CAPI, KUBEADM_CONTROL_PLANE, clusterAPIFromObjects, clusterPath, controlPlanePath, controlPlaneRefOf, machineDeploymentSelector, machineDeploymentsPath, type ClusterLike, type ControlPlaneLike, type Invalid, type MachineDeploymentLike, type ObjectKey } from "./parse.js";

/** Requests {@link observeClusterAPI} makes when the objects exist (at most 500 MachineDeployments and Nodes). */
export const CLUSTER_API_OBSERVE_REQUESTS = { management: 3, workload: 1 } as const;

/**
 * Reads the Cluster API view of a cluster: `Cluster` `ref` and its KubeadmControlPlane and
 * MachineDeployments through `management`, and the Nodes through `workload`. Returns `{ invalid }` when the
 * management cluster is reachable but does not hold the cluster as specified (Cluster API not installed, the
 * Cluster or its KubeadmControlPlane missing, a control plane of another kind, a missing version).
 * Unreachable clusters throw `UnreachableError`; other API failures throw `KubeApiError`.
 */
export async function observeClusterAPI(
  management: KubeRest,
  workload: KubeRest,
  ref: ObjectKey,
): Promise<ObservedClusterAPI | Invalid> {
  const cluster = await management.get<ClusterLike>(clusterPath(ref));
  if (cluster === null) return missing(management, `${CAPI.clusterGroup}/${CAPI.version}`, "Cluster", ref);
  const controlPlaneRef = controlPlaneRefOf(management.cluster, ref, cluster);
  if ("invalid" in controlPlaneRef) return controlPlaneRef;
  const [controlPlane, machineDeployments, nodes] = await Promise.all([
    management.get<ControlPlaneLike>(controlPlanePath(controlPlaneRef)),
    management.list<MachineDeploymentLike>(machineDeploymentsPath(ref.namespace), { labelSelector: machineDeploymentSelector(ref.name) }),
    workload.list<NodeLike>("/api/v1/nodes"),
  ]);
  if (controlPlane === null) {
    return missing(management, `${CAPI.controlPlaneGroup}/${CAPI.version}`, KUBEADM_CONTROL_PLANE, controlPlaneRef, ref);
  }
  return clusterAPIFromObjects(management.cluster, ref, controlPlaneRef, controlPlane, machineDeployments, nodes);
}

/**
 * Why an object the spec relies on was not found (404): its kind is not served (the CRD is not installed)
 * or the object does not exist. Costs one discovery request.
 */
async function missing(management: KubeRest, apiVersion: string, kind: string, key: ObjectKey, of?: ObjectKey): Promise<Invalid> {
  const id = identity({ cluster: management.cluster, group: groupOf(apiVersion), kind, ...key });
  const owner = of ? ` (spec.controlPlaneRef of Cluster ${of.namespace}/${of.name})` : "";
  if ((await management.resource(apiVersion, kind)) === undefined) {
    return {
      invalid:
        `${id}${owner}: the management cluster does not serve ${kind} (${apiVersion}); ` +
        `is Cluster API installed there, and does provider.clusterAPI.context name the management cluster?`,
    };
  }
  return { invalid: `${id}${owner} not found in the management cluster` };
}
