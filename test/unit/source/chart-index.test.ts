/**
 * Reading a chart version out of a repository index: the shape `helm repo index` writes (with and without
 * `--url`), the usual mistakes (no such chart, no such version, not an index) as messages, and the limits
 * a hostile index meets.
 */
import { describe, expect, it } from "vitest";
import { findChartVersion } from "../../../src/source/chart-index.js";

const DIGEST = "5f0c7d2e0f8e1f3b9a4c6d8e0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b";

const INDEX = `apiVersion: v1
entries:
  demo:
  - apiVersion: v2
    created: "2026-11-30T10:00:00Z"
    digest: ${DIGEST}
    name: demo
    urls:
    - demo-0.2.0.tgz
    version: 0.2.0
  - apiVersion: v2
    name: demo
    urls:
    - https://cdn.example.com/demo-0.1.0.tgz
    version: 0.1.0
generated: "2026-11-30T10:00:00Z"
`;

describe("findChartVersion", () => {
  it("finds the version, resolving a relative download URL against the index's URL", () => {
    const found = findChartVersion(INDEX, "https://charts.example.com/platform/index.yaml", "demo", "0.2.0");
    expect(found).toEqual({ ok: true, entry: { name: "demo", version: "0.2.0", urls: ["https://charts.example.com/platform/demo-0.2.0.tgz"], digest: DIGEST } });
    const older = findChartVersion(INDEX, "https://charts.example.com/platform/index.yaml", "demo", "0.1.0");
    expect(older).toEqual({ ok: true, entry: { name: "demo", version: "0.1.0", urls: ["https://cdn.example.com/demo-0.1.0.tgz"] } });
  });

  it("says which chart or version is missing, and which versions there are", () => {
    const url = "https://charts.example.com/index.yaml";
    expect(findChartVersion(INDEX, url, "other", "1.0.0")).toEqual({ ok: false, problem: { kind: "no-chart", message: "the repository has no chart named other" } });
    expect(findChartVersion(INDEX, url, "demo", "9.9.9")).toEqual({
      ok: false,
      problem: { kind: "no-version", message: "the repository has chart demo but not version 9.9.9 (it has 0.2.0, 0.1.0)", versions: ["0.2.0", "0.1.0"] },
    });
    // A key that names Object.prototype's members is an ordinary missing chart.
    expect(findChartVersion(INDEX, url, "constructor", "1.0.0")).toMatchObject({ ok: false, problem: { kind: "no-chart" } });
  });

  it("refuses what is not an index, and entries it cannot trust", () => {
    const url = "https://charts.example.com/index.yaml";
    expect(findChartVersion("<html>login</html>", url, "demo", "0.2.0")).toMatchObject({ ok: false, problem: { kind: "invalid", message: expect.stringMatching(/no entries map/) as unknown } });
    expect(findChartVersion("entries: [\n", url, "demo", "0.2.0")).toMatchObject({ ok: false, problem: { kind: "invalid", message: expect.stringMatching(/^the index is not valid YAML \(line/) as unknown } });
    const badDigest = INDEX.replace(DIGEST, "md5:abc");
    expect(findChartVersion(badDigest, url, "demo", "0.2.0")).toMatchObject({ ok: false, problem: { kind: "invalid", message: "the index lists demo 0.2.0 with a digest that is not a SHA-256" } });
    const noUrl = "entries:\n  demo:\n  - name: demo\n    version: 1.0.0\n";
    expect(findChartVersion(noUrl, url, "demo", "1.0.0")).toMatchObject({ ok: false, problem: { message: "the index lists demo 1.0.0 without a download URL" } });
  });

  it("stops at the size and node limits and at alias expansion", () => {
    const url = "https://charts.example.com/index.yaml";
    expect(findChartVersion(INDEX, url, "demo", "0.2.0", { maxBytes: 100, maxNodes: 1000 })).toMatchObject({ ok: false, problem: { message: "the index is larger than the limit of 100 bytes" } });
    const many = `entries:\n  demo:\n${Array.from({ length: 500 }, (_, i) => `  - {name: demo, version: 0.0.${i}, urls: [demo-0.0.${i}.tgz]}\n`).join("")}`;
    expect(findChartVersion(many, url, "demo", "0.0.499")).toMatchObject({ ok: true });
    expect(findChartVersion(many, url, "demo", "0.0.499", { maxBytes: 1024 * 1024, maxNodes: 200 })).toMatchObject({ ok: false, problem: { kind: "invalid" } });
    const laughs = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nentries: {}\n`;
    expect(findChartVersion(laughs, url, "demo", "1.0.0", { maxBytes: 1024 * 1024, maxNodes: 10_000 })).toMatchObject({ ok: false, problem: { kind: "invalid" } });
  });
});
