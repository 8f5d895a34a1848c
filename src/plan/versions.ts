/**
 * Kubernetes release versions as the planner sees them: `MAJOR.MINOR.PATCH`, nothing else. Pure — no I/O,
 * no clock, no randomness (ARCHITECTURE invariant 1).
 *
 * Pre-releases (`1.34.0-rc.1`), build metadata and vendor suffixes (`v1.34.2+k3s1`, `-eks-…`) are rejected
 * on purpose: the skew ladder reasons about upstream minors and must never guess what a suffix means.
 */
import semver from "semver";

/** A Kubernetes release version. Immutable; compare with {@link compareVersions}, never with `===`. */
export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Result of {@link parseVersion}: the version, or why the text is not one. Never thrown. */
export type ParseVersionResult =
  | { readonly ok: true; readonly version: KubeVersion }
  | { readonly ok: false; readonly input: string; readonly detail: string };

/** `1.34.2` or `v1.34.2`; anything after the patch (pre-release, build, vendor suffix) is refused. */
const VERSION_TEXT = /^v?(\d+)\.(\d+)\.(\d+)$/;

/**
 * Parses `"1.34.2"` or `"v1.34.2"` (the form Node objects report as `kubeletVersion` and images carry as
 * tags). Leading zeros and numbers beyond `Number.MAX_SAFE_INTEGER` are refused, as semver refuses them.
 */
export function parseVersion(text: string): ParseVersionResult {
  const match = VERSION_TEXT.exec(text);
  // semver.parse is the authority on the numbers (leading zeros, safe-integer range); the regex only
  // narrows its grammar to the three-part form Kubernetes releases use.
  const parsed = match === null ? null : semver.parse(text.replace(/^v/, ""));
  if (parsed === null) {
    return { ok: false, input: text, detail: `"${text}" is not a Kubernetes version: expected MAJOR.MINOR.PATCH, e.g. "1.34.2" or "v1.34.2"` };
  }
  return { ok: true, version: { major: parsed.major, minor: parsed.minor, patch: parsed.patch } };
}

/** Builds a version from its three numbers (no validation beyond the type: callers pass parsed values). */
export function kubeVersion(major: number, minor: number, patch: number): KubeVersion {
  return { major, minor, patch };
}

/** Formats a version as `1.34.2` — without the `v`, the form the spec and plans use. */
export function formatVersion(version: KubeVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

/** Total order on versions: negative when `a` is older than `b`, zero when equal, positive when newer. */
export function compareVersions(a: KubeVersion, b: KubeVersion): -1 | 0 | 1 {
  return semver.compare(formatVersion(a), formatVersion(b));
}

/**
 * Order on the `MAJOR.MINOR` part only, which is what every version-skew rule is stated in:
 * `1.34.9` and `1.34.0` are the same minor.
 */
export function compareMinors(a: KubeVersion, b: KubeVersion): -1 | 0 | 1 {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  return 0;
}

/**
 * How many minor releases `to` is ahead of `from` (negative when behind): `1.32.4 → 1.34.0` is 2.
 * `undefined` when the majors differ — Kubernetes has never defined skew across majors, so no distance
 * between them means anything.
 */
export function minorDistance(from: KubeVersion, to: KubeVersion): number | undefined {
  return from.major === to.major ? to.minor - from.minor : undefined;
}

/** True when both versions are in the same `MAJOR.MINOR`. */
export function sameMinor(a: KubeVersion, b: KubeVersion): boolean {
  return compareMinors(a, b) === 0;
}

/** The oldest of a non-empty list (the first of equals), or `undefined` for an empty one. */
export function oldestVersion(versions: readonly KubeVersion[]): KubeVersion | undefined {
  let oldest: KubeVersion | undefined;
  for (const version of versions) if (oldest === undefined || compareVersions(version, oldest) < 0) oldest = version;
  return oldest;
}

/** The newest of a non-empty list (the first of equals), or `undefined` for an empty one. */
export function newestVersion(versions: readonly KubeVersion[]): KubeVersion | undefined {
  let newest: KubeVersion | undefined;
  for (const version of versions) if (newest === undefined || compareVersions(version, newest) > 0) newest = version;
  return newest;
}
