/**
 * The planner's `topology.scale` step: Cluster API scales the KubeadmControlPlane; a kubeadm cluster's control
 * plane is scaled by hand, so its step is `manual` with the runbook (or blocked without a
 * controlPlaneEndpoint). Pure.
 */
import type { DesiredCluster } from "../spec/types.js";
import type { ObservedClusterAPI, ObservedKubeadm } from "./observed.js";
import type { Step } from "./types.js";

/** The `topology.scale` step when the control plane's size differs from the spec (manual for kubeadm). */
export function topologyStep(desired: DesiredCluster, driver: ObservedKubeadm | ObservedClusterAPI): Step | undefined {
  const want = desired.topology.controlPlane.replicas;
  const have = driver.kind === "kubeadm" ? driver.controlPlane.length : driver.controlPlane.replicas;
  if (want === have) return undefined;
  const id = `${desired.name}/topology.scale/${want}`;
  if (driver.kind === "clusterAPI") {
    return {
      id,
      kind: "topology.scale",
      state: "pending",
      from: have,
      to: want,
      summary: `scale KubeadmControlPlane ${driver.controlPlane.name} from ${have} to ${want} replicas`,
    };
  }
  const endpoint = driver.controlPlaneEndpoint;
  if (want > have && endpoint === null) {
    return {
      id,
      kind: "topology.scale",
      state: "blocked",
      from: have,
      to: want,
      reason: "kubeadm cannot add control-plane nodes to a cluster initialised without a controlPlaneEndpoint",
      summary: `scale the control plane from ${have} to ${want} nodes`,
    };
  }
  return {
    id,
    kind: "topology.scale",
    state: "manual",
    from: have,
    to: want,
    summary: `scale the control plane from ${have} to ${want} nodes (kubeadm: by hand, with the runbook)`,
    runbook: want > have ? scaleUpRunbook(desired, driver, want - have) : scaleDownRunbook(driver, have - want),
  };
}

function scaleUpRunbook(desired: DesiredCluster, driver: ObservedKubeadm, count: number): string[] {
  const zones = desired.topology.controlPlane.zones;
  const used = new Set(driver.nodes.filter((n) => n.role === "control-plane").map((n) => n.zone));
  const freeZones = zones.filter((z) => !used.has(z));
  return [
    `On an existing control-plane node: \`kubeadm init phase upload-certs --upload-certs\` and note the certificate key.`,
    `On the same node: \`kubeadm token create --print-join-command\`.`,
    `Prepare ${count} new node${count === 1 ? "" : "s"} with kubeadm, kubelet and kubectl at v${desired.kubernetes.version} (the version the steps above bring the cluster to)${freeZones.length > 0 ? `, in zone${freeZones.length === 1 ? "" : "s"} ${freeZones.join(", ")}` : ""}.`,
    `On each new node: run the join command with \`--control-plane --certificate-key <key>\` (it joins through ${driver.controlPlaneEndpoint ?? "the control-plane endpoint"}).`,
    `Add one node at a time and wait for \`kubectl get nodes\` to show it Ready and for its etcd member to be healthy (\`etcdctl endpoint health --cluster\`) before the next, so etcd never loses quorum.`,
    `Run \`bosun plan\` again: the topology step disappears when ${desired.topology.controlPlane.replicas} control-plane nodes are observed.`,
  ];
}

function scaleDownRunbook(driver: ObservedKubeadm, count: number): string[] {
  return [
    `Pick ${count} control-plane node${count === 1 ? "" : "s"} to remove (never the last one in a zone you want to keep).`,
    `For each, one at a time: \`kubectl drain <node> --ignore-daemonsets\`, then on the node \`kubeadm reset\` (removes its etcd member), then \`kubectl delete node <node>\`.`,
    `Check etcd after each removal: \`etcdctl member list\` shows ${driver.controlPlane.length - 1} members or fewer, all started.`,
    `Run \`bosun plan\` again: the topology step disappears when the desired number of control-plane nodes is observed.`,
  ];
}
