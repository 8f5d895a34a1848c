/**
 * Specific ladders, pinned in a compact notation (`cp FROM>TO w FROM>TO`, one string per rung; see
 * `builder.ts`). The property tests in `ladder.properties.test.ts` check that every ladder is skew-safe;
 * these pin WHICH ladder bosun chooses.
 */
import { describe, expect, it } from "vitest";
import { planLadder, type SkewPolicy } from "../../../src/plan/ladder.js";
import type { VersionState } from "../../../src/plan/skew.js";
import { cluster, ladderText } from "./builder.js";

const node = (apiserver: string, controllerManager: string, scheduler: string, kubelet: string) => ({ apiserver, controllerManager, scheduler, kubelet });
const ha = (version: string) => [version, version, version];

describe("planLadder", () => {
  it.each<[string, VersionState<string>, string, SkewPolicy, string[] | string]>([
    ["1.32.4 → 1.34.2 strict: workers follow every minor", cluster(ha("1.32.4"), ["1.32.4", "1.32.4"]), "1.34.2", "strict",
      ["cp 1.32.4>1.33.0 w 1.32.4>1.33.0", "cp 1.33.0>1.34.2 w 1.33.0>1.34.2"]],
    ["1.32.4 → 1.34.2 efficient: workers skip 1.33", cluster(ha("1.32.4"), ["1.32.4", "1.32.4"]), "1.34.2", "efficient",
      ["cp 1.32.4>1.33.0", "cp 1.33.0>1.34.2 w 1.32.4>1.34.2"]],
    ["v-prefixed versions as Nodes report them", cluster(["v1.32.4"], ["v1.32.4"]), "v1.33.1", "strict",
      ["cp 1.32.4>1.33.1 w 1.32.4>1.33.1"]],
    ["patch-only, strict", cluster(ha("1.34.1"), ["1.34.1"]), "1.34.2", "strict", ["cp 1.34.1>1.34.2 w 1.34.1>1.34.2"]],
    ["patch-only, efficient", cluster(ha("1.34.1"), ["1.34.1"]), "1.34.2", "efficient", ["cp 1.34.1>1.34.2 w 1.34.1>1.34.2"]],
    ["in sync", cluster(ha("1.34.2"), ["1.34.2", "1.34.2"]), "1.34.2", "strict", "in-sync"],
    ["in sync with v prefixes", cluster(["v1.34.2"], ["v1.34.2"]), "1.34.2", "efficient", "in-sync"],
    ["only workers behind, efficient: one worker rung", cluster(ha("1.34.2"), ["1.32.0", "1.34.2"]), "1.34.2", "efficient",
      ["w 1.32.0>1.34.2"]],
    ["only workers behind, strict: one minor per rung", cluster(ha("1.34.2"), ["1.32.0", "1.34.2"]), "1.34.2", "strict",
      ["w 1.32.0>1.33.0", "w 1.33.0>1.34.2"]],
    ["downgrade of a minor refused", cluster(ha("1.34.2"), ["1.34.2"]), "1.33.5", "strict", "refused:downgrade"],
    ["downgrade of a patch refused", cluster(ha("1.34.2"), ["1.34.2"]), "1.34.1", "efficient", "refused:downgrade"],
    ["a control-plane node ahead of the target is a downgrade", cluster(["1.34.0", "1.34.3", "1.34.0"], ["1.34.0"]), "1.34.2", "strict",
      "refused:downgrade"],
    ["mixed control plane, strict: converge to the highest observed first",
      cluster([node("1.33.1", "1.33.1", "1.33.1", "1.32.4"), "1.32.4", "1.32.4"], ["1.32.4"]), "1.35.0", "strict",
      ["cp 1.32.4>1.33.1 w 1.32.4>1.33.1", "cp 1.33.1>1.34.0 w 1.33.1>1.34.0", "cp 1.34.0>1.35.0 w 1.34.0>1.35.0"]],
    ["mixed control plane, efficient",
      cluster([node("1.33.1", "1.33.1", "1.33.1", "1.32.4"), "1.32.4", "1.32.4"], ["1.32.4"]), "1.35.0", "efficient",
      ["cp 1.32.4>1.33.1", "cp 1.33.1>1.34.0", "cp 1.34.0>1.35.0 w 1.32.4>1.35.0"]],
    ["mixed control plane already at the target minor: one rung",
      cluster([node("1.34.0", "1.34.0", "1.34.0", "1.33.2"), "1.33.2"], ["1.33.2"]), "1.34.2", "strict",
      ["cp 1.33.2>1.34.2 w 1.33.2>1.34.2"]],
    ["apiservers differing only in patch need no converge rung", cluster(["1.33.1", "1.33.4"], ["1.33.1"]), "1.34.0", "efficient",
      ["cp 1.33.1>1.34.0 w 1.33.1>1.34.0"]],
    ["a lagging control-plane kubelet is converged before the next minor",
      cluster([node("1.33.2", "1.33.2", "1.33.2", "1.30.0")], ["1.33.2"]), "1.34.0", "efficient",
      ["cp 1.30.0>1.33.2", "cp 1.33.2>1.34.0 w 1.33.2>1.34.0"]],
    ["workers two minors behind, efficient: move on the last possible rung", cluster(ha("1.33.2"), ["1.31.5", "1.31.5"]), "1.36.1", "efficient",
      ["cp 1.33.2>1.34.0 w 1.31.5>1.34.0", "cp 1.34.0>1.35.0", "cp 1.35.0>1.36.1 w 1.34.0>1.36.1"]],
    ["workers two minors behind, strict: catch up first, one minor at a time", cluster(ha("1.33.2"), ["1.31.5", "1.31.5"]), "1.35.0", "strict",
      ["w 1.31.5>1.32.0", "w 1.32.0>1.33.2", "cp 1.33.2>1.34.0 w 1.33.2>1.34.0", "cp 1.34.0>1.35.0 w 1.34.0>1.35.0"]],
    ["workers three behind, efficient: a worker rung before the first control-plane step", cluster(["1.33.2"], ["1.30.1", "1.33.2"]), "1.34.0", "efficient",
      ["w 1.30.1>1.33.2", "cp 1.33.2>1.34.0 w 1.33.2>1.34.0"]],
    ["kubelet 1.23 may lag only two minors", cluster(["1.25.3"], ["1.23.0"]), "1.26.0", "efficient",
      ["w 1.23.0>1.25.3", "cp 1.25.3>1.26.0 w 1.25.3>1.26.0"]],
    ["kubelet 1.25 may lag three minors", cluster(["1.27.0"], ["1.25.0"]), "1.28.0", "efficient",
      ["cp 1.27.0>1.28.0 w 1.25.0>1.28.0"]],
    ["workers newer than the target refused", cluster(["1.34.0"], ["1.34.0", "1.34.5"]), "1.34.2", "efficient", "refused:downgrade"],
    ["a start state out of skew refused", cluster(ha("1.34.0"), ["1.30.0"]), "1.35.0", "strict", "refused:unsupported-skew-at-start"],
    ["an unparseable observed version refused", cluster(["1.34"], ["1.34.0"]), "1.35.0", "strict", "refused:unparseable"],
    ["a pre-release refused", cluster(["1.34.0"], ["1.34.0"]), "1.35.0-rc.1", "efficient", "refused:unparseable"],
    ["no control plane refused", cluster([], ["1.34.0"]), "1.35.0", "strict", "refused:no-control-plane"],
    ["a new major refused", cluster(["1.34.0"], ["1.34.0"]), "2.0.0", "strict", "refused:major-version-change"],
  ])("%s", (_name, observed, desired, policy, expected) => {
    expect(ladderText(planLadder(observed, desired, policy))).toEqual(expected);
  });

  it("says which component is ahead of the target", () => {
    const result = planLadder(cluster(["1.34.5"], ["1.34.0", "1.34.5"]), "1.34.2", "efficient");
    expect(result).toMatchObject({ kind: "refused", reason: "downgrade" });
    if (result.kind === "refused") expect(result.detail).toContain("control-plane node 1 kube-apiserver is at 1.34.5");
  });

  it("names every unparseable version", () => {
    const result = planLadder(cluster(["1.34.0"], ["1.34", "latest"]), "1.35.0", "strict");
    expect(result).toMatchObject({ kind: "refused", reason: "unparseable" });
    if (result.kind === "refused") {
      expect(result.detail).toContain('worker node 1 kubelet: "1.34"');
      expect(result.detail).toContain('worker node 2 kubelet: "latest"');
    }
  });

  it("returns the broken rules as data when the start is out of skew", () => {
    const result = planLadder(cluster(ha("1.34.0"), ["1.30.0"]), "1.35.0", "efficient");
    expect(result).toMatchObject({
      kind: "refused",
      reason: "unsupported-skew-at-start",
      violations: [{ rule: "kubelet-too-old" }],
    });
  });
});
