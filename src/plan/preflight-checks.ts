/**
 * The pre-upgrade checks of each rung (issue 15), on what `src/observe/readiness.ts` read. Pure: the plan
 * shows them, and the drivers run the same functions on a fresh observation right before a rung starts.
 *
 * - A fail-closed admission webhook whose Service has no ready endpoint blocks every upgrade step: once the
 *   control plane restarts, the API server's own writes that the webhook matches would be refused.
 * - A deprecated API the API server served since it started, removed in the rung's target minor or
 *   before, blocks that control-plane rung (and every later one): its clients would break. So does an
 *   object of a Helm release or of bosun's inventory written in such an API version (`api-removals.ts`):
 *   Helm could no longer upgrade or delete the release, bosun could no longer prune it.
 * - A stacked etcd whose member count is not one per control-plane node blocks control-plane rungs.
 * - A PodDisruptionBudget allowing no disruption on a node a rung drains is a finding: the drain would
 *   stop there, so it is said before anything is cordoned.
 */
import { API_REMOVALS } from "./api-removals.js";
import type { ObservedClusterAPI, ObservedKubeadm, ObservedReadiness } from "./observed.js";
import type { Finding } from "./types.js";
import type { KubeVersion } from "./versions.js";

/** What blocks every upgrade step of the cluster; empty when nothing does. */
export function upgradeBlocks(readiness: ObservedReadiness | undefined): string[] {
  const closed = (readiness?.webhooks ?? []).filter((w) => w.readyEndpoints === 0);
  if (closed.length === 0) return [];
  const names = closed.map((w) => `${w.kind} ${w.configuration} (webhook ${w.webhook} → Service ${w.service})`);
  return [
    `admission webhook${closed.length === 1 ? "" : "s"} with failurePolicy Fail and no ready endpoint: ${names.join("; ")} — the control plane's own writes would be refused mid-upgrade; make the Service ready or set failurePolicy: Ignore first`,
  ];
}

/** What blocks a control-plane rung to `to`; empty when nothing does. */
export function controlPlaneRungBlocks(readiness: ObservedReadiness | undefined, driver: ObservedKubeadm | ObservedClusterAPI | undefined, to: KubeVersion): string[] {
  const blocks: string[] = [];
  const removed = (readiness?.deprecatedApis ?? []).filter((api) => removedBy(api.removedRelease, to));
  if (removed.length > 0) {
    const names = removed.map((api) => `${api.group === "" ? "" : `${api.group}/`}${api.version} ${api.resource} (removed in ${api.removedRelease})`);
    blocks.push(
      `${names.join(", ")} ${removed.length === 1 ? "was" : "were"} requested since the API server started, and ${to.major}.${to.minor} no longer serves ${removed.length === 1 ? "it" : "them"}: move ${removed.length === 1 ? "its clients and manifests" : "their clients and manifests"} to a served version first (kubectl get --raw /metrics | grep apiserver_requested_deprecated_apis)`,
    );
  }
  const stale = (readiness?.manifestObjects ?? []).flatMap((object) => {
    const removal = API_REMOVALS.find((r) => r.apiVersion === object.apiVersion && r.kind === object.kind);
    return removal !== undefined && removedBy(removal.removedIn, to) ? [{ object, removal }] : [];
  });
  if (stale.length > 0) {
    const names = stale.map(({ object, removal }) => `${object.kind} ${object.object} of ${object.source} (${object.apiVersion}, removed in ${removal.removedIn}${removal.replacement ? `; use ${removal.replacement}` : ""})`);
    blocks.push(`${names.join(", ")}: written in an API version ${to.major}.${to.minor} no longer serves; upgrade or re-apply ${stale.length === 1 ? "it" : "them"} in a served version first`);
  }
  if (driver?.kind === "kubeadm" && driver.etcd.mode === "stacked") {
    const members = driver.controlPlane.filter((node) => node.etcd !== null).map((node) => node.node);
    const missing = driver.controlPlane.filter((node) => node.etcd === null).map((node) => node.node);
    if (missing.length > 0) {
      blocks.push(`stacked etcd has ${members.length} member${members.length === 1 ? "" : "s"} for ${driver.controlPlane.length} control-plane nodes: no etcd pod on ${missing.join(", ")}; restore the member before upgrading`);
    }
  }
  return blocks;
}

/** True when an API removed in `removedRelease` (`MAJOR.MINOR`) is gone at `to`. */
function removedBy(removedRelease: string, to: KubeVersion): boolean {
  const match = /^(\d+)\.(\d+)$/.exec(removedRelease);
  if (match === null) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major < to.major || (major === to.major && minor <= to.minor);
}

/** Findings of the checks: budgets holding nodes the upgrade drains, and parts that could not be read. */
export function readinessFindings(readiness: ObservedReadiness | undefined, drained: readonly string[]): Finding[] {
  if (readiness === undefined) return [];
  const findings: Finding[] = [];
  const drainedSet = new Set(drained);
  for (const budget of readiness.budgets) {
    const held = budget.nodes.filter((node) => drainedSet.has(node));
    if (held.length === 0) continue;
    findings.push({
      kind: "upgrade.drain-blocked",
      message: `PodDisruptionBudget ${budget.name} allows no disruption now, and its pods run on ${held.join(", ")}, which the upgrade drains: the drain will stop there until the budget allows an eviction`,
    });
  }
  for (const problem of readiness.problems) findings.push({ kind: "upgrade.check-incomplete", message: problem });
  return findings;
}
