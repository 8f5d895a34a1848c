/**
 * `versionState`: from the kubeadm observation to the version state the ladder plans from.
 */
import { describe, expect, it } from "vitest";
import type { ObservedControlPlaneNode, ObservedKubeadm, ObservedNode } from "../../../../src/plan/observed.js";
import { versionState } from "../../../../src/plan/observed-versions.js";
import type { VersionState } from "../../../../src/plan/skew.js";

function cpNode(name: string, kubelet: string): ObservedNode {
  return { name, role: "control-plane", zone: null, ready: true, unschedulable: false, kubelet };
}
function worker(name: string, kubelet: string): ObservedNode {
  return { name, role: "worker", zone: null, ready: true, unschedulable: false, kubelet };
}
function pods(node: string, apiserver: string | null, controllerManager = apiserver, scheduler = apiserver): ObservedControlPlaneNode {
  return { node, apiserver, controllerManager, scheduler, etcd: "3.6.4-0", ready: true };
}
function observed(nodes: ObservedNode[], controlPlane: ObservedControlPlaneNode[]): ObservedKubeadm {
  return { kind: "kubeadm", clusterVersion: "1.34.2", controlPlaneEndpoint: null, etcd: { mode: "stacked", members: [] }, nodes, controlPlane };
}
const all = (v: string, kubelet = v) => ({ apiserver: v, controllerManager: v, scheduler: v, kubelet });

describe("versionState", () => {
  it.each<[string, ObservedKubeadm, VersionState<string>]>([
    [
      "one control-plane node and a worker",
      observed([cpNode("cp-1", "1.34.2"), worker("w-1", "1.33.5")], [pods("cp-1", "1.34.2")]),
      { controlPlane: [all("1.34.2")], workers: ["1.33.5"] },
    ],
    [
      "HA mid-upgrade: static pods ahead of the kubelet on the first node",
      observed(
        [cpNode("cp-1", "1.34.2"), cpNode("cp-2", "1.34.2"), cpNode("cp-3", "1.34.2"), worker("w-1", "1.34.2"), worker("w-2", "1.33.5")],
        [pods("cp-1", "1.35.0"), pods("cp-2", "1.34.2"), pods("cp-3", "1.34.2")],
      ),
      {
        controlPlane: [all("1.35.0", "1.34.2"), all("1.34.2"), all("1.34.2")],
        workers: ["1.34.2", "1.33.5"],
      },
    ],
    [
      "components apart: controller-manager and scheduler behind the apiserver",
      observed([cpNode("cp-1", "1.34.2")], [pods("cp-1", "1.35.1", "1.35.0", "1.34.2")]),
      { controlPlane: [{ apiserver: "1.35.1", controllerManager: "1.35.0", scheduler: "1.34.2", kubelet: "1.34.2" }], workers: [] },
    ],
    [
      "a missing static pod falls back to the node's kubelet",
      observed([cpNode("cp-1", "1.34.2")], [pods("cp-1", "1.35.0", null, "1.35.0")]),
      { controlPlane: [{ apiserver: "1.35.0", controllerManager: "1.34.2", scheduler: "1.35.0", kubelet: "1.34.2" }], workers: [] },
    ],
    [
      "a control-plane node without any static pod entry takes its kubelet everywhere",
      observed([cpNode("cp-1", "1.34.2"), cpNode("cp-2", "1.33.9")], [pods("cp-1", "1.34.2")]),
      { controlPlane: [all("1.34.2"), all("1.33.9")], workers: [] },
    ],
    ["no nodes at all", observed([], []), { controlPlane: [], workers: [] }],
  ])("%s", (_name, input, expected) => {
    expect(versionState(input)).toEqual(expected);
  });
});
