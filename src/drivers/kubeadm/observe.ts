/**
 * Observes a kubeadm cluster (DESIGN section 4) with a constant number of API requests, whatever the
 * number of nodes: three, sent together —
 *
 * 1. GET `kube-system/kubeadm-config` (the ClusterConfiguration: version, endpoint, etcd mode);
 * 2. LIST Nodes (roles, zones, readiness, cordons, kubelet versions);
 * 3. LIST pods in kube-system with `tier=control-plane` (kubeadm's static pods: one LIST instead of one
 *    GET per node and component).
 *
 * A LIST pages at 500 items, so a cluster with more than 500 nodes (or static pods) costs one request more
 * per 500. Interpreting what was read is pure and lives in `parse.ts`.
 */
import type { KubeRest } from "../../kube/rest.js";
import type { NodeLike } from "../../kube/nodes.js";
import type { ObservedKubeadm } from "../../plan/observed.js";
import { CONTROL_PLANE_TIER, KUBEADM_CONFIG, kubeadmFromObjects, type ConfigMapLike, type Invalid, type PodLike } from "./parse.js";

/** Requests {@link observeKubeadm} makes for a cluster with at most 500 nodes. */
export const KUBEADM_OBSERVE_REQUESTS = 3;

/**
 * Reads the kubeadm view of the cluster behind `rest`. Returns `{ invalid }` when the cluster is reachable
 * but is not a kubeadm cluster as far as its API shows (no `kubeadm-config`, or an unreadable one).
 * Unreachable clusters throw `UnreachableError`; other API failures throw `KubeApiError`.
 */
export async function observeKubeadm(rest: KubeRest): Promise<ObservedKubeadm | Invalid> {
  const [configMap, nodes, pods] = await Promise.all([
    rest.get<ConfigMapLike>(`/api/v1/namespaces/${KUBEADM_CONFIG.namespace}/configmaps/${KUBEADM_CONFIG.name}`),
    rest.list<NodeLike>("/api/v1/nodes"),
    rest.list<PodLike>("/api/v1/namespaces/kube-system/pods", { labelSelector: `tier=${CONTROL_PLANE_TIER}` }),
  ]);
  return kubeadmFromObjects(rest.cluster, configMap, nodes, pods);
}
