/**
 * The bundled release table is data the ladder trusts: every entry a released version of the minor it is
 * filed under, the minors consecutive, and the table dated, so a plan can say how old its knowledge is.
 */
import { describe, expect, it } from "vitest";
import { KUBERNETES_RELEASES } from "../../../src/plan/kubernetes-releases.js";
import { parseVersion } from "../../../src/plan/versions.js";

describe("the Kubernetes release table", () => {
  const entries = Object.entries(KUBERNETES_RELEASES.latest);

  it("files each version under its own minor, minors consecutive from the first", () => {
    expect(entries.length).toBeGreaterThanOrEqual(5);
    entries.forEach(([minor, release], index) => {
      const parsed = parseVersion(release.version);
      expect(parsed.ok, release.version).toBe(true);
      if (!parsed.ok) return;
      expect(`${parsed.version.major}.${parsed.version.minor}`).toBe(minor);
      const first = Number(entries[0]?.[0].split(".")[1]);
      expect(parsed.version.minor).toBe(first + index);
      expect(release.tagged).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    });
  });

  it("names its source and the day it was retrieved", () => {
    expect(KUBERNETES_RELEASES.source).toMatch(/^https:\/\/.+\/k8s\.io\/kubernetes\/@v$/);
    expect(KUBERNETES_RELEASES.retrieved).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [, release] of entries) expect(release.tagged <= KUBERNETES_RELEASES.retrieved).toBe(true);
  });
});
