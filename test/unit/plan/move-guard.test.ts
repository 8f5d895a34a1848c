/**
 * The execution-time skew guard: a move is refused when the state after it breaks a skew rule or when it
 * skips a minor, whatever a plan said.
 */
import { describe, expect, it } from "vitest";
import { moveProblems } from "../../../src/plan/move-guard.js";
import type { ObservedKubeadm } from "../../../src/plan/observed.js";
import { kubeadm } from "./observed-builder.js";

/** An HA cluster with per-node static pod versions (apiserver = cm = scheduler) and kubelets. */
function cluster(cp: { pods: string; kubelet: string }[], workers: string[]): ObservedKubeadm {
  const observed = kubeadm("c", { controlPlane: cp.map((n) => n.kubelet), workers });
  observed.controlPlane = observed.controlPlane.map((entry, i) => ({
    ...entry,
    apiserver: cp[i]?.pods ?? null,
    controllerManager: cp[i]?.pods ?? null,
    scheduler: cp[i]?.pods ?? null,
  }));
  return observed;
}

describe("moveProblems", () => {
  const start = cluster([{ pods: "1.34.4", kubelet: "1.34.4" }, { pods: "1.34.4", kubelet: "1.34.4" }, { pods: "1.34.4", kubelet: "1.34.4" }], ["1.34.4"]);

  it("allows one control-plane node's static pods one minor up", () => {
    expect(moveProblems(start, { kind: "static-pods", node: "c-cp-1", to: "1.35.0" })).toEqual([]);
  });

  it("refuses static pods that would skip a minor", () => {
    expect(moveProblems(start, { kind: "static-pods", node: "c-cp-1", to: "1.36.0" }).join("\n")).toMatch(/would skip a minor version/);
  });

  it("refuses a kubelet newer than the oldest apiserver (phase B before phase A finished)", () => {
    const half = cluster([{ pods: "1.35.0", kubelet: "1.34.4" }, { pods: "1.34.4", kubelet: "1.34.4" }, { pods: "1.34.4", kubelet: "1.34.4" }], ["1.34.4"]);
    expect(moveProblems(half, { kind: "kubelet", nodes: ["c-cp-1"], to: "1.35.0" }).join("\n")).toMatch(/newer than the oldest kube-apiserver 1\.34\.4/);
    expect(moveProblems(half, { kind: "kubelet", nodes: ["c-worker-1"], to: "1.35.0" }).join("\n")).toMatch(/worker node 1 is newer/);
  });

  it("allows the kubelets once every apiserver is at the version", () => {
    const done = cluster([{ pods: "1.35.0", kubelet: "1.34.4" }, { pods: "1.35.0", kubelet: "1.34.4" }, { pods: "1.35.0", kubelet: "1.34.4" }], ["1.34.4"]);
    expect(moveProblems(done, { kind: "kubelet", nodes: ["c-cp-2"], to: "1.35.0" })).toEqual([]);
    expect(moveProblems(done, { kind: "kubelet", nodes: ["c-worker-1"], to: "1.35.0" })).toEqual([]);
  });

  it("refuses a control-plane move that leaves a worker kubelet too old", () => {
    const old = cluster([{ pods: "1.34.0", kubelet: "1.34.0" }], ["1.31.0"]);
    expect(moveProblems(old, { kind: "static-pods", node: "c-cp-1", to: "1.35.0" }).join("\n")).toMatch(/kubelet 1\.31\.0 on worker node 1 is more than 3 minor versions older/);
  });

  it("refuses an HA control-plane move that leaves apiservers two minors apart", () => {
    const skewed = cluster([{ pods: "1.35.0", kubelet: "1.34.0" }, { pods: "1.34.0", kubelet: "1.34.0" }], []);
    expect(moveProblems(skewed, { kind: "static-pods", node: "c-cp-1", to: "1.36.0" }).join("\n")).toMatch(/more than one minor version apart/);
  });

  it("names nodes that are gone and versions that do not parse", () => {
    expect(moveProblems(start, { kind: "static-pods", node: "c-cp-9", to: "1.35.0" })).toEqual(["node c-cp-9 is no longer in the cluster"]);
    expect(moveProblems(start, { kind: "static-pods", node: "c-worker-1", to: "1.35.0" })).toEqual(["node c-worker-1 is not a control-plane node"]);
    expect(moveProblems(start, { kind: "kubelet", nodes: ["c-worker-1"], to: "banana" }).join("\n")).toMatch(/target version/);
  });

  it("leaves a component already newer than the target alone (a move only raises)", () => {
    const patch = cluster([{ pods: "1.35.2", kubelet: "1.35.2" }], ["1.35.0"]);
    expect(moveProblems(patch, { kind: "kubelet", nodes: ["c-worker-1"], to: "1.35.1" })).toEqual([]);
  });
});
