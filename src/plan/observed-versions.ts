/**
 * The bridge from what the drivers' observers saw to the version state the ladder and the skew rules work
 * on (`skew.ts`), and the version ranges a plan shows. Pure: types in, data out.
 */
import type { ObservedClusterAPI, ObservedKubeadm } from "./observed.js";
import type { ControlPlaneNodeVersions, VersionState } from "./skew.js";
import type { VersionRange } from "./types.js";
import { compareVersions, formatVersion, parseVersion } from "./versions.js";

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
