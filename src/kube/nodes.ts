/**
 * Nodes as every driver observes them: one parser from a Node object (as the API server sends it, or as
 * `@kubernetes/client-node` models it) to the planner's {@link ObservedNode}, and one LIST of a cluster's
 * Nodes. Shared by the kubeadm and Cluster API observers so both read roles, zones, readiness and kubelet
 * versions the same way.
 */
import type { ObservedNode } from "../plan/observed.js";
import type { KubeRest } from "./rest.js";

/** Label kubeadm (and Cluster API's kubeadm bootstrap) puts on control-plane nodes; its value is empty. */
export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";
/** Well-known zone label, set by the cloud provider or the kubelet. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";

/**
 * The parts of a Node that {@link parseNode} reads. Both the JSON the API server sends and
 * `@kubernetes/client-node`'s `V1Node` fit it.
 */
export interface NodeLike {
  metadata?: { name?: string | undefined; labels?: Record<string, string> | undefined } | undefined;
  spec?: { unschedulable?: boolean | undefined } | undefined;
  status?:
    | {
        conditions?: readonly { type: string; status: string }[] | undefined;
        nodeInfo?: { kubeletVersion?: string | undefined } | undefined;
      }
    | undefined;
}

/**
 * Reduces one Node to what planning needs. The role is `control-plane` when the node carries the
 * control-plane role label (whatever its value), else `worker`; the zone is `topology.kubernetes.io/zone`
 * or null; the node is ready when its `Ready` condition is `True` (a node without one is not ready); the
 * kubelet version loses its leading `v` and is empty when the node never reported one.
 */
export function parseNode(node: NodeLike): ObservedNode {
  const labels = node.metadata?.labels ?? {};
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  return {
    name: node.metadata?.name ?? "",
    role: CONTROL_PLANE_LABEL in labels ? "control-plane" : "worker",
    zone: labels[ZONE_LABEL] ?? null,
    ready: ready?.status === "True",
    unschedulable: node.spec?.unschedulable === true,
    kubelet: withoutV(node.status?.nodeInfo?.kubeletVersion ?? ""),
  };
}

/** Parses every Node and sorts them by name, as {@link ObservedNode} lists are. */
export function parseNodes(nodes: readonly NodeLike[]): ObservedNode[] {
  return nodes.map(parseNode).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** LISTs the cluster's Nodes (one request per 500 nodes) and parses them, sorted by name. */
export async function observeNodes(rest: KubeRest): Promise<ObservedNode[]> {
  return parseNodes(await rest.list<NodeLike>("/api/v1/nodes"));
}

/** `v1.34.2` → `1.34.2`; anything without a leading `v` is returned as it is. */
export function withoutV(version: string): string {
  return version.startsWith("v") ? version.slice(1) : version;
}
