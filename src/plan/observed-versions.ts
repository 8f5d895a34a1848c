/**
 * The bridge from what the kubeadm observer saw to the version state the ladder and the skew rules work
 * on (`skew.ts`). Pure: types in, data out.
 */
import type { ObservedKubeadm } from "./observed.js";
import type { ControlPlaneNodeVersions, VersionState } from "./skew.js";

/**
 * The versions of a kubeadm cluster, node by node: one control-plane entry per control-plane Node (sorted
 * by node name) with its static pods' versions and its kubelet, and the kubelet of every worker Node
 * (sorted by node name). Versions are strings as observed; the ladder parses and checks them.
 *
 * A static pod that is missing (or whose image has no tag) takes the node's kubelet version instead. The
 * mirror pod can be absent for a moment — the kubelet recreates it after an upgrade or a restart, and a
 * node that just joined may not have published it yet — and it says nothing about the version then. The
 * kubelet is the best evidence left: kubeadm upgrades a node's static pods before its kubelet
 * (`kubeadm upgrade node`, then the kubelet package), so the kubelet is never newer than the component it
 * stands in for. The guess therefore errs towards older, which at worst plans a step that turns out to be
 * a no-op, and never lets the ladder skip a minor.
 */
export function versionState(observed: ObservedKubeadm): VersionState<string> {
  const pods = new Map(observed.controlPlane.map((entry) => [entry.node, entry]));
  const controlPlane: ControlPlaneNodeVersions<string>[] = [];
  const workers: string[] = [];
  for (const node of observed.nodes) {
    if (node.role === "worker") {
      workers.push(node.kubelet);
      continue;
    }
    const entry = pods.get(node.name);
    controlPlane.push({
      apiserver: entry?.apiserver ?? node.kubelet,
      controllerManager: entry?.controllerManager ?? node.kubelet,
      scheduler: entry?.scheduler ?? node.kubelet,
      kubelet: node.kubelet,
    });
  }
  return { controlPlane, workers };
}
