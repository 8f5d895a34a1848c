/**
 * Builders for version states and a compact notation for ladders, so tables read like the plans they pin.
 */
import type { LadderResult, Rung } from "../../../src/plan/ladder.js";
import type { ControlPlaneNodeVersions, VersionState } from "../../../src/plan/skew.js";
import { formatVersion } from "../../../src/plan/versions.js";

/** A control-plane node: one string puts every component at that version; an object names them. */
export type NodeSpec = string | ControlPlaneNodeVersions<string>;

/** A cluster's observed versions from control-plane node specs and worker kubelet versions. */
export function cluster(controlPlane: readonly NodeSpec[], workers: readonly string[]): VersionState<string> {
  return {
    controlPlane: controlPlane.map((node) =>
      typeof node === "string" ? { apiserver: node, controllerManager: node, scheduler: node, kubelet: node } : node,
    ),
    workers: [...workers],
  };
}

/** One rung as `cp 1.32.4>1.33.0 w 1.32.4>1.33.0` (either half may be absent). */
export function rungText(rung: Rung): string {
  const parts: string[] = [];
  if (rung.controlPlane) parts.push(`cp ${formatVersion(rung.controlPlane.from)}>${formatVersion(rung.controlPlane.to)}`);
  if (rung.workers) parts.push(`w ${formatVersion(rung.workers.from)}>${formatVersion(rung.workers.to)}`);
  return parts.join(" ");
}

/** A ladder result in the compact notation: rung texts, `in-sync`, or `refused:<reason>`. */
export function ladderText(result: LadderResult): string[] | string {
  switch (result.kind) {
    case "in-sync":
      return "in-sync";
    case "refused":
      return `refused:${result.reason}`;
    case "upgrade":
      return result.rungs.map(rungText);
  }
}
