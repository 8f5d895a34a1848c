/**
 * Which patch an intermediate rung of the ladder targets, and where each rung's version came from. The
 * ladder (`ladder.ts`) only knows minors; this module gives it the versions an operator would pick by hand:
 * the cluster's own `upgrade.intermediateVersions`, else the latest patch of that minor in the bundled,
 * dated release table (`kubernetes-releases.ts`), else `MINOR.0` for a minor the table does not know yet.
 * Pure: the table is data compiled in, never fetched at plan time, so a plan is reproducible.
 */
import type { UpgradePolicy } from "../spec/types.js";
import { KUBERNETES_RELEASES } from "./kubernetes-releases.js";
import type { PatchPick } from "./ladder.js";
import type { VersionSource } from "./types.js";
import { compareVersions, formatVersion, parseVersion, type KubeVersion } from "./versions.js";

/** What the ladder needs from one cluster's policy: the patch pick for its intermediate minors. */
export function intermediateVersions(upgrade: Pick<UpgradePolicy, "intermediateVersions">): PatchPick {
  return (major, minor) => {
    const chosen = chosenVersion(upgrade, major, minor);
    return chosen?.version.patch ?? 0;
  };
}

/** The override or table entry for `major.minor`, with its source; undefined when neither names it. */
function chosenVersion(
  upgrade: Pick<UpgradePolicy, "intermediateVersions">,
  major: number,
  minor: number,
): { version: KubeVersion; source: VersionSource } | undefined {
  const key = `${major}.${minor}`;
  for (const [text, source] of [
    [upgrade.intermediateVersions[key], "upgrade.intermediateVersions"],
    [KUBERNETES_RELEASES.latest[key]?.version, "release-table"],
  ] as const) {
    if (text === undefined) continue;
    const parsed = parseVersion(text);
    if (parsed.ok && parsed.version.major === major && parsed.version.minor === minor) return { version: parsed.version, source };
  }
  return undefined;
}

/**
 * Where a rung's target version came from: `kubernetes.version` for the desired version itself, `observed`
 * for a version some component already runs (the rung that converges an interrupted control plane),
 * otherwise the override, the release table, or `minor-zero`.
 */
export function versionSource(
  upgrade: Pick<UpgradePolicy, "intermediateVersions">,
  to: KubeVersion,
  desired: KubeVersion,
  observed: readonly KubeVersion[],
): VersionSource {
  if (compareVersions(to, desired) === 0) return "kubernetes.version";
  const chosen = chosenVersion(upgrade, to.major, to.minor);
  if (chosen !== undefined && compareVersions(chosen.version, to) === 0) return chosen.source;
  if (observed.some((version) => compareVersions(version, to) === 0)) return "observed";
  return "minor-zero";
}

/** The few words a plan's summary gives a version's source, e.g. "latest 1.34 patch, release table of 2026-12-02". */
export function describeVersionSource(source: VersionSource, to: KubeVersion): string {
  switch (source) {
    case "kubernetes.version":
      return "kubernetes.version";
    case "upgrade.intermediateVersions":
      return "the cluster's upgrade.intermediateVersions";
    case "release-table":
      return `latest ${to.major}.${to.minor} patch, release table of ${KUBERNETES_RELEASES.retrieved}`;
    case "observed":
      return "already running in the cluster";
    case "minor-zero":
      return `${formatVersion(to)} is not in the release table of ${KUBERNETES_RELEASES.retrieved}: first patch of the minor`;
  }
}
