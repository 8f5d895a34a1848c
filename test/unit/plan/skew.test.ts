/**
 * The version-skew rules (kubernetes.io version-skew policy) on hand-picked states: each row names the
 * rules the state breaks, in `checkSkew`'s fixed order.
 */
import { describe, expect, it } from "vitest";
import { checkSkew, isWithinSkew, kubeletSkewAllowance, type VersionState } from "../../../src/plan/skew.js";
import { kubeVersion, parseVersion, type KubeVersion } from "../../../src/plan/versions.js";
import { cluster, type NodeSpec } from "./builder.js";

function v(text: string): KubeVersion {
  const parsed = parseVersion(text);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.version;
}

function parsed(controlPlane: readonly NodeSpec[], workers: readonly string[]): VersionState {
  const state = cluster(controlPlane, workers);
  return {
    controlPlane: state.controlPlane.map((node) => ({
      apiserver: v(node.apiserver),
      controllerManager: v(node.controllerManager),
      scheduler: v(node.scheduler),
      kubelet: v(node.kubelet),
    })),
    workers: state.workers.map(v),
  };
}

const node = (apiserver: string, controllerManager: string, scheduler: string, kubelet: string) => ({ apiserver, controllerManager, scheduler, kubelet });

describe("checkSkew", () => {
  it.each<[string, NodeSpec[], string[], string[]]>([
    ["a uniform cluster", ["1.34.2", "1.34.2", "1.34.2"], ["1.34.2"], []],
    ["patch differences only", ["1.34.2", "1.34.0"], ["1.34.9"], []],
    ["HA apiservers one minor apart", [node("1.34.0", "1.34.0", "1.34.0", "1.33.5"), "1.33.5", "1.33.5"], ["1.33.0"], []],
    ["HA apiservers two minors apart", [node("1.34.0", "1.34.0", "1.34.0", "1.32.5"), "1.32.5"], ["1.32.0"], ["apiserver-skew"]],
    ["kubelet three minors behind (>= 1.25)", ["1.34.0"], ["1.31.0"], []],
    ["kubelet four minors behind", ["1.34.0"], ["1.30.9"], ["kubelet-too-old"]],
    ["kubelet newer than the only apiserver", ["1.33.0"], ["1.34.0"], ["kubelet-newer-than-apiserver"]],
    // HA narrows the window: not newer than the oldest, at most three behind the newest (policy example).
    ["HA: kubelet at the newest apiserver's minor", [node("1.35.0", "1.35.0", "1.35.0", "1.34.0"), "1.34.0"], ["1.35.0"], ["kubelet-newer-than-apiserver"]],
    ["HA: kubelet three behind the newest", [node("1.35.0", "1.35.0", "1.35.0", "1.34.0"), "1.34.0"], ["1.32.0"], []],
    ["HA: kubelet three behind the oldest, four behind the newest", [node("1.35.0", "1.35.0", "1.35.0", "1.34.0"), "1.34.0"], ["1.31.0"], ["kubelet-too-old"]],
    // The exception is on the kubelet's own version: below 1.25 it may lag only two minors.
    ["kubelet 1.24 two behind 1.26", ["1.26.0"], ["1.24.0"], []],
    ["kubelet 1.24 three behind 1.27", ["1.27.0"], ["1.24.0"], ["kubelet-too-old"]],
    ["kubelet 1.25 three behind 1.28", ["1.28.0"], ["1.25.0"], []],
    ["kubelet 1.25 two behind 1.27", ["1.27.0"], ["1.25.0"], []],
    ["controller-manager one behind its apiserver", [node("1.34.0", "1.33.0", "1.34.0", "1.34.0")], [], []],
    ["controller-manager newer than its apiserver", [node("1.33.0", "1.34.0", "1.33.0", "1.33.0")], [], ["controller-manager-newer-than-apiserver"]],
    ["controller-manager two behind its apiserver", [node("1.34.0", "1.32.0", "1.34.0", "1.34.0")], [], ["controller-manager-too-old"]],
    ["scheduler newer than its apiserver", [node("1.33.0", "1.33.0", "1.34.0", "1.33.0")], [], ["scheduler-newer-than-apiserver"]],
    ["scheduler two behind its apiserver", [node("1.34.0", "1.34.0", "1.32.0", "1.34.0")], [], ["scheduler-too-old"]],
    // Controller-manager and scheduler talk to their own node's apiserver (kubeadm's LocalAPIEndpoint).
    ["mid-upgrade HA: node 1 fully new, node 2 old", [node("1.34.0", "1.34.0", "1.34.0", "1.33.0"), "1.33.0"], ["1.33.0"], []],
    // Why control-plane kubelets wait until every apiserver is upgraded (ladder.ts, phase B).
    ["control-plane kubelet newer than another node's apiserver", ["1.34.0", "1.33.0"], ["1.33.0"], ["kubelet-newer-than-apiserver"]],
    ["another major", ["1.34.0"], ["2.34.0", "0.34.0"], ["kubelet-newer-than-apiserver", "kubelet-too-old"]],
    ["no control plane", [], ["1.34.0"], ["no-control-plane"]],
  ])("%s", (_name, controlPlane, workers, rules) => {
    const state = parsed(controlPlane, workers);
    const violations = checkSkew(state);
    expect(violations.map((violation) => violation.rule)).toEqual(rules);
    expect(isWithinSkew(state)).toBe(rules.length === 0);
    for (const violation of violations) expect(violation.detail.length).toBeGreaterThan(0);
  });

  it("names the node and the versions in the detail", () => {
    const [violation] = checkSkew(parsed(["1.34.0"], ["1.34.0", "1.30.1"]));
    expect(violation).toEqual({
      rule: "kubelet-too-old",
      detail: "kubelet 1.30.1 on worker node 2 is more than 3 minor versions older than kube-apiserver 1.34.0",
    });
  });

  it("allows a kubelet two minors below 1.25 and three from 1.25 on", () => {
    expect(kubeletSkewAllowance(kubeVersion(1, 24, 9))).toBe(2);
    expect(kubeletSkewAllowance(kubeVersion(1, 25, 0))).toBe(3);
  });
});
