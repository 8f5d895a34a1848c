/**
 * The Cluster API executor's pure decisions (`src/drivers/cluster-api/rollout.ts`): the skew guards it asks
 * before every patch, and when a KubeadmControlPlane or MachineDeployment counts as converged.
 */
import { describe, expect, it } from "vitest";
import {
  ClusterAPIStepError,
  capiVersion,
  controlPlaneProgress,
  controlPlaneUpgradeDecision,
  machineDeploymentProgress,
  scaleDecision,
  workersUpgradeDecision,
  type ControlPlaneView,
  type KubeletView,
  type MachineDeploymentView,
  type StepDecision,
} from "../../../../src/drivers/cluster-api/rollout.js";

/** A KubeadmControlPlane: spec and status versions, replicas, counts and generations. */
function kcp(
  spec: string,
  status: string | null = spec,
  options: { replicas?: number; ready?: number; updated?: number; statusReplicas?: number; generation?: number; observed?: number } = {},
): ControlPlaneView {
  const replicas = options.replicas ?? 1;
  return {
    metadata: { name: "work-control-plane", namespace: "fleet", generation: options.generation ?? 1 },
    spec: { version: spec, replicas },
    status: {
      ...(status === null ? {} : { version: status }),
      replicas: options.statusReplicas ?? replicas,
      readyReplicas: options.ready ?? replicas,
      updatedReplicas: options.updated ?? replicas,
      observedGeneration: options.observed ?? options.generation ?? 1,
    },
  };
}

function md(
  name: string,
  version: string,
  options: { replicas?: number; ready?: number; updated?: number; statusReplicas?: number; generation?: number; observed?: number } = {},
): MachineDeploymentView {
  const replicas = options.replicas ?? 2;
  return {
    metadata: { name, namespace: "fleet", generation: options.generation ?? 1 },
    spec: { clusterName: "work", replicas, template: { spec: { version } } },
    status: {
      replicas: options.statusReplicas ?? replicas,
      readyReplicas: options.ready ?? replicas,
      updatedReplicas: options.updated ?? replicas,
      observedGeneration: options.observed ?? options.generation ?? 1,
    },
  };
}

const kubelet = (node: string, version: string): KubeletView => ({ node, version });
const PATCH: StepDecision = { action: "patch" };
const WAIT: StepDecision = { action: "wait" };

describe("controlPlaneUpgradeDecision", () => {
  it.each<[string, ControlPlaneView, string, MachineDeploymentView[], KubeletView[], StepDecision]>([
    ["one minor up", kcp("v1.33.7"), "1.34.0", [md("md-0", "v1.33.7")], [], PATCH],
    ["a patch release", kcp("v1.34.0"), "1.34.4", [md("md-0", "v1.33.7")], [], PATCH],
    ["the target with a leading v", kcp("v1.33.7"), "v1.34.0", [], [], PATCH],
    ["already patched, rolling out", kcp("v1.34.0", "v1.33.7"), "1.34.0", [], [], WAIT],
    ["already converged", kcp("v1.34.0"), "1.34.0", [], [], WAIT],
    ["status.version not reported yet: spec.version stands for it", kcp("v1.33.7", null), "1.34.0", [], [], PATCH],
    ["workers three minors behind the target (allowed from 1.25 on)", kcp("v1.34.4"), "1.35.0", [md("md-0", "v1.32.9")], [], PATCH],
    ["a node whose kubelet version does not parse is not judged", kcp("v1.34.4"), "1.35.0", [], [kubelet("odd", "v1.30.0+vendor"), kubelet("new", "")], PATCH],
  ])("%s: patch or wait", (_, object, target, mds, kubelets, expected) => {
    expect(controlPlaneUpgradeDecision(object, target, mds, kubelets)).toEqual(expected);
  });

  it.each<[string, ControlPlaneView, string, MachineDeploymentView[], KubeletView[], RegExp]>([
    ["two minors ahead", kcp("v1.33.7"), "1.35.4", [], [], /machines run v1\.33\.7; v1\.35\.4 would skip 1 minor version \(kube-apiserver moves one minor at a time\)/],
    ["three minors ahead", kcp("v1.32.0"), "1.35.0", [], [], /would skip 2 minor versions/],
    ["two minors ahead of status while spec was already moved by hand", kcp("v1.34.0", "v1.33.7"), "1.35.0", [], [], /machines run v1\.33\.7; v1\.35\.0 would skip/],
    ["a downgrade", kcp("v1.34.4"), "1.33.9", [], [], /v1\.33\.9 would be a downgrade/],
    ["a patch downgrade", kcp("v1.34.4"), "1.34.2", [], [], /downgrade/],
    ["spec.version already newer than the target", kcp("v1.35.0", "v1.34.4"), "1.34.9", [], [], /spec\.version is already v1\.35\.0, newer than the step's v1\.34\.9; the plan is out of date/],
    ["a major version change", kcp("v1.34.4"), "2.0.0", [], [], /another major version/],
    [
      "a MachineDeployment that would fall four minors behind",
      kcp("v1.34.4"),
      "1.35.0",
      [md("md-0", "v1.34.4"), md("md-old", "v1.31.2")],
      [],
      /MachineDeployment md-old runs kubelets at v1\.31\.2: more than 3 minor versions older than the new control plane v1\.35\.0/,
    ],
    ["kubelets below 1.25 allow only two minors", kcp("v1.26.3"), "1.27.0", [md("md-0", "v1.24.9")], [], /more than 2 minor versions older/],
    ["a Node's kubelet that would fall too far behind", kcp("v1.34.4"), "1.35.0", [md("md-0", "v1.34.4")], [kubelet("stray-1", "v1.31.0")], /Node stray-1 runs kubelet v1\.31\.0/],
    ["a MachineDeployment without a version", kcp("v1.34.4"), "1.35.0", [md("md-0", "")], [], /md-0 has no valid spec\.template\.spec\.version/],
    ["a target that is not a version", kcp("v1.34.4"), "latest", [], [], /target "latest" is not a version/],
    ["a KubeadmControlPlane whose spec.version is not a version", kcp("1.34"), "1.35.0", [], [], /spec\.version "1\.34" is not a version/],
  ])("refuses %s", (_, object, target, mds, kubelets, reason) => {
    const decision = controlPlaneUpgradeDecision(object, target, mds, kubelets);
    expect(decision.action).toBe("refuse");
    expect(decision.action === "refuse" ? decision.reason : "").toMatch(reason);
  });
});

describe("workersUpgradeDecision", () => {
  it.each<[string, MachineDeploymentView, string, ControlPlaneView, StepDecision]>([
    ["to the control plane's version", md("md-0", "v1.33.7"), "1.34.0", kcp("v1.34.0"), PATCH],
    ["skipping minors within kubelet skew (efficient)", md("md-0", "v1.33.7"), "1.35.4", kcp("v1.35.4"), PATCH],
    ["older than the control plane", md("md-0", "v1.33.7"), "1.34.0", kcp("v1.35.4"), PATCH],
    ["already patched", md("md-0", "v1.35.4"), "1.35.4", kcp("v1.35.4"), WAIT],
    ["during a control-plane rollout, not newer than its oldest machine", md("md-0", "v1.33.7"), "1.34.0", kcp("v1.35.0", "v1.34.0"), PATCH],
  ])("%s", (_, object, target, controlPlane, expected) => {
    expect(workersUpgradeDecision(object, target, controlPlane)).toEqual(expected);
  });

  it.each<[string, MachineDeploymentView, string, ControlPlaneView, RegExp]>([
    ["newer than the control plane", md("md-0", "v1.33.7"), "1.34.0", kcp("v1.33.7"), /v1\.34\.0 is newer than the control plane \(KubeadmControlPlane status\.version v1\.33\.7\)/],
    ["newer than the control plane's oldest machine mid-rollout", md("md-0", "v1.33.7"), "1.34.0", kcp("v1.34.0", "v1.33.7"), /newer than the control plane/],
    ["a newer patch than the control plane", md("md-0", "v1.34.0"), "1.34.5", kcp("v1.34.4"), /newer than the control plane/],
    ["a downgrade", md("md-0", "v1.34.4"), "1.34.0", kcp("v1.35.0"), /downgrade/],
    ["too old for the control plane", md("md-0", "v1.30.0"), "1.31.0", kcp("v1.35.0"), /v1\.31\.0 is more than 3 minor versions older than the control plane's spec\.version v1\.35\.0/],
    ["a control plane without status.version", md("md-0", "v1.33.7"), "1.33.9", kcp("v1.34.0", null), /has not reported status\.version/],
  ])("refuses %s", (_, object, target, controlPlane, reason) => {
    const decision = workersUpgradeDecision(object, target, controlPlane);
    expect(decision.action === "refuse" ? decision.reason : decision.action).toMatch(reason);
  });
});

describe("scaleDecision", () => {
  it.each<[number, number, StepDecision | RegExp]>([
    [1, 3, PATCH],
    [3, 1, PATCH],
    [3, 3, WAIT],
    [1, 2, /must be odd/],
    [3, 0, /at least one is needed/],
    [3, -1, /at least one/],
    [1, 1.5, /at least one/],
  ])("%i → %s replicas", (from, to, expected) => {
    const decision = scaleDecision(kcp("v1.34.4", "v1.34.4", { replicas: from }), to);
    if (expected instanceof RegExp) expect(decision.action === "refuse" ? decision.reason : decision.action).toMatch(expected);
    else expect(decision).toEqual(expected);
  });
});

describe("controlPlaneProgress", () => {
  it.each<[string, ControlPlaneView, { version?: string; replicas?: number }, boolean, string]>([
    ["converged", kcp("v1.34.0"), { version: "1.34.0" }, true, "status.version v1.34.0, 1/1 replicas, 1 updated, 1 ready"],
    ["the controller has not seen the patch yet", kcp("v1.34.0", "v1.34.0", { generation: 2, observed: 1 }), { version: "1.34.0" }, false, "status.version v1.34.0, 1/1 replicas, 1 updated, 1 ready, observedGeneration 1 of 2"],
    ["status.version behind", kcp("v1.34.0", "v1.33.7", { updated: 0 }), { version: "1.34.0" }, false, "status.version v1.33.7, 1/1 replicas, 0 updated, 1 ready"],
    ["a machine not ready", kcp("v1.34.0", "v1.34.0", { replicas: 3, ready: 2 }), { version: "1.34.0" }, false, "status.version v1.34.0, 3/3 replicas, 3 updated, 2 ready"],
    ["spec.version moved on (someone else patched it)", kcp("v1.35.0", "v1.35.0"), { version: "1.34.0" }, false, "status.version v1.35.0 (spec.version v1.35.0), 1/1 replicas, 1 updated, 1 ready"],
    ["scaling: replicas missing", kcp("v1.34.4", "v1.34.4", { replicas: 3, statusReplicas: 2, ready: 1, updated: 2 }), { replicas: 3 }, false, "status.version v1.34.4, 2 replicas (spec.replicas 3), 2 updated, 1 ready"],
    ["scaled", kcp("v1.34.4", "v1.34.4", { replicas: 3 }), { replicas: 3 }, true, "status.version v1.34.4, 3/3 replicas, 3 updated, 3 ready"],
    ["spec.replicas is not what the step set", kcp("v1.34.4", "v1.34.4", { replicas: 5 }), { replicas: 3 }, false, "status.version v1.34.4, 5/5 replicas, 5 updated, 5 ready"],
    ["no status at all", { spec: { version: "v1.34.0" } }, { version: "1.34.0" }, false, "status.version (none), 0 replicas (spec.replicas 1), 0 updated, 0 ready"],
  ])("%s", (_, object, want, converged, seen) => {
    expect(controlPlaneProgress(object, want)).toEqual({ converged, seen });
  });
});

describe("machineDeploymentProgress", () => {
  it.each<[string, MachineDeploymentView, boolean, string]>([
    ["converged", md("md-0", "v1.35.4"), true, "2/2 replicas, 2 updated, 2 ready"],
    ["rolling", md("md-0", "v1.35.4", { updated: 1, ready: 1, generation: 3, observed: 3 }), false, "2/2 replicas, 1 updated, 1 ready"],
    ["not seen yet", md("md-0", "v1.35.4", { generation: 3, observed: 2 }), false, "2/2 replicas, 2 updated, 2 ready, observedGeneration 2 of 3"],
    ["another version in the template", md("md-0", "v1.34.0"), false, "spec.template.spec.version v1.34.0, 2/2 replicas, 2 updated, 2 ready"],
  ])("%s", (_, object, converged, seen) => {
    expect(machineDeploymentProgress(object, "1.35.4")).toEqual({ converged, seen });
  });
});

describe("ClusterAPIStepError", () => {
  it("is a refusal (ApplyFailed, not retryable) unless it is a timeout (HealthTimeout, retryable)", () => {
    const guard = new ClusterAPIStepError("guard", "refused", { identity: "mgmt:KubeadmControlPlane.controlplane.x-k8s.io/fleet/x" });
    expect([guard.reason, guard.retryable, guard.phase, guard.identity]).toEqual(["ApplyFailed", false, "guard", "mgmt:KubeadmControlPlane.controlplane.x-k8s.io/fleet/x"]);
    const timeout = new ClusterAPIStepError("wait", "timed out", { identity: "mgmt:KubeadmControlPlane.controlplane.x-k8s.io/fleet/x", timeout: true });
    expect([timeout.reason, timeout.retryable]).toEqual(["HealthTimeout", true]);
  });

  it("capiVersion writes versions as Cluster API does", () => {
    expect([capiVersion("1.34.2"), capiVersion("v1.34.2")]).toEqual(["v1.34.2", "v1.34.2"]);
  });
});
