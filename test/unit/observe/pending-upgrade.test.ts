/**
 * What observation derives from the ladder before planning: whether an upgrade is pending (then the
 * pre-upgrade inputs are read) and the control-plane targets the add-ons are rendered for — capped, so a
 * spec naming a far-off version cannot make one plan run helm without end.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_TARGET_RENDERS, pendingUpgrade } from "../../../src/observe/fleet.js";
import { loadFleet } from "../../../src/spec/load.js";
import { kubeadm } from "../plan/observed-builder.js";

const loaded = await loadFleet(path.resolve(import.meta.dirname, "../../../fleet-example"));
if (!loaded.ok) throw new Error("fleet-example does not load");
const canary = loaded.value.clusters.find((c) => c.name === "canary-1");
if (!canary) throw new Error("no canary-1");

describe("pendingUpgrade", () => {
  it("is nothing for a cluster at its version, and the rung targets for one behind", () => {
    expect(pendingUpgrade(canary, kubeadm("canary-1", { controlPlane: ["1.35.4"], workers: ["1.35.4"] }))).toBeUndefined();
    expect(pendingUpgrade(canary, kubeadm("canary-1", { controlPlane: ["1.34.4"], workers: ["1.34.4"] }))).toEqual({ targets: ["1.35.4"], unchecked: 0 });
  });

  it("renders for the first rungs only when the target is many minors away", () => {
    const far = { ...canary, kubernetes: { version: "1.45.0" } };
    const pending = pendingUpgrade(far, kubeadm("canary-1", { controlPlane: ["1.30.0"], workers: ["1.30.0"] }));
    expect(pending?.targets).toHaveLength(MAX_TARGET_RENDERS);
    expect(pending?.targets[0]).toBe("1.31.14");
    expect(pending?.unchecked).toBe(15 - MAX_TARGET_RENDERS);
  });
});
