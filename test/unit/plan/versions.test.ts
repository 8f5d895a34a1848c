/** `KubeVersion`: the only accepted spellings, ordering and minor distance. */
import { describe, expect, it } from "vitest";
import {
  compareMinors,
  compareVersions,
  formatVersion,
  kubeVersion,
  minorDistance,
  newestVersion,
  oldestVersion,
  parseVersion,
} from "../../../src/plan/versions.js";

describe("parseVersion", () => {
  it.each([
    ["1.34.2", kubeVersion(1, 34, 2)],
    ["v1.34.2", kubeVersion(1, 34, 2)],
    ["1.0.0", kubeVersion(1, 0, 0)],
    ["v1.37.10", kubeVersion(1, 37, 10)],
  ])("accepts %s", (text, expected) => {
    expect(parseVersion(text)).toEqual({ ok: true, version: expected });
  });

  it.each([
    "", "1.34", "1", "v", "V1.34.2", "vv1.34.2", " 1.34.2", "1.34.2 ", "1.34.2-rc.1", "1.34.2+k3s1",
    "v1.34.2-eks-1", "01.34.2", "1.034.2", "1.34.02", "1.34.x", "latest", "1.34.2.1", "=1.34.2", "1.99999999999999999.0",
  ])("refuses %j with a typed result, not an exception", (text) => {
    const result = parseVersion(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.input).toBe(text);
      expect(result.detail).toContain("MAJOR.MINOR.PATCH");
    }
  });
});

describe("formatting and ordering", () => {
  it("formats without the v prefix and round-trips", () => {
    expect(formatVersion(kubeVersion(1, 34, 2))).toBe("1.34.2");
    const parsed = parseVersion("v1.33.7");
    expect(parsed.ok && formatVersion(parsed.version)).toBe("1.33.7");
  });

  it.each([
    ["1.34.2", "1.34.2", 0, 0],
    ["1.34.1", "1.34.2", -1, 0],
    ["1.34.10", "1.34.9", 1, 0],
    ["1.9.0", "1.10.0", -1, -1],
    ["2.0.0", "1.99.99", 1, 1],
  ])("%s vs %s: compare %i, compareMinors %i", (a, b, full, minors) => {
    const pa = parseVersion(a);
    const pb = parseVersion(b);
    if (!pa.ok || !pb.ok) throw new Error("fixture does not parse");
    expect(compareVersions(pa.version, pb.version)).toBe(full);
    expect(compareMinors(pa.version, pb.version)).toBe(minors);
  });

  it("measures minor distance within a major only", () => {
    expect(minorDistance(kubeVersion(1, 32, 4), kubeVersion(1, 34, 0))).toBe(2);
    expect(minorDistance(kubeVersion(1, 34, 0), kubeVersion(1, 32, 4))).toBe(-2);
    expect(minorDistance(kubeVersion(1, 34, 9), kubeVersion(1, 34, 0))).toBe(0);
    expect(minorDistance(kubeVersion(1, 34, 0), kubeVersion(2, 0, 0))).toBeUndefined();
  });

  it("finds the oldest and newest", () => {
    const versions = [kubeVersion(1, 33, 5), kubeVersion(1, 32, 9), kubeVersion(1, 33, 6)];
    expect(oldestVersion(versions)).toEqual(kubeVersion(1, 32, 9));
    expect(newestVersion(versions)).toEqual(kubeVersion(1, 33, 6));
    expect(oldestVersion([])).toBeUndefined();
    expect(newestVersion([])).toBeUndefined();
  });
});
