/**
 * A pull request's fleet loaded under its base branch's policy (`loadFleet`'s `basePolicy`): the rollout,
 * windows, alerting and `spec.chartRepositories` of the base replace the head's, the desired state stays
 * the head's; and `spec.chartRepositories` narrows the chart repositories on its own.
 */
import fs from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../../src/spec/issues.js";
import { loadFleet, type FleetPolicy, type LoadOptions } from "../../../src/spec/load.js";
import { fleetBuilder, type FleetBuilder } from "./builder.js";

const FLEET = "fleet.yaml";
const written: string[] = [];

afterAll(async () => {
  await Promise.all(written.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function load(builder: FleetBuilder, options: LoadOptions = {}): Promise<Awaited<ReturnType<typeof loadFleet>>> {
  const dir = await builder.write();
  written.push(dir);
  return loadFleet(dir, options);
}

async function basePolicy(builder: FleetBuilder): Promise<FleetPolicy> {
  const base = await load(builder);
  if (!base.ok) throw new Error(base.errors.map(formatIssue).join("\n"));
  return base.policy;
}

describe("spec.chartRepositories", () => {
  it("refuses a chart from a repository outside the list, at its file and line", async () => {
    const result = await load(fleetBuilder().set(FLEET, ["spec", "chartRepositories"], ["https://charts.other.example"]));
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.map(formatIssue);
    expect(errors).toEqual([expect.stringMatching(/^clusters\/prod\.yaml:\d+:\d+: .*https:\/\/charts\.example\.com.* is not in the fleet's spec\.chartRepositories/)]);
  });

  it("lets a chart under a listed prefix through", async () => {
    const result = await load(fleetBuilder().set(FLEET, ["spec", "chartRepositories"], ["https://charts.example.com"]));
    expect(result.ok ? "loaded" : result.errors.map(formatIssue)).toBe("loaded");
  });
});

describe("a head loaded under its base's policy", () => {
  it("takes waves, windows and chart repositories from the base, clusters and versions from the head", async () => {
    const policy = await basePolicy(fleetBuilder().set(FLEET, ["spec", "chartRepositories"], ["https://charts.example.com"]));
    // The head widens everything it can: one wave for all, no windows, any chart repository, and a version bump.
    const head = fleetBuilder()
      .set(FLEET, ["spec", "rollout"], { waves: [{ name: "everything", selector: {}, maxConcurrent: 10 }] })
      .set(FLEET, ["spec", "windows"], [])
      .set(FLEET, ["spec", "chartRepositories"], ["https://charts.example.com", "https://anything.example"])
      .set(FLEET, ["spec", "defaults", "kubernetes", "version"], "1.35.0");
    const result = await load(head, { basePolicy: policy });
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    expect(result.value.waves.map((w) => `${w.name}:${w.clusters.join(",")}:${String(w.maxConcurrent)}`)).toEqual(["canary:canary:1", "prod:prod:1"]);
    expect(result.value.windows.map((w) => `${w.name}:${w.clusters.join(",")}`)).toEqual(["nights:prod"]);
    expect(result.value.clusters.map((c) => c.kubernetes.version)).toEqual(["1.35.0", "1.35.0"]);
    expect(result.policy.chartRepositories).toEqual(["https://charts.example.com"]);
  });

  it("holds a head's new chart repository to the base's list", async () => {
    const policy = await basePolicy(fleetBuilder().set(FLEET, ["spec", "chartRepositories"], ["https://charts.example.com"]));
    const head = fleetBuilder()
      .set(FLEET, ["spec", "chartRepositories"], ["https://charts.example.com", "https://charts.evil.example"])
      .set("clusters/prod.yaml", ["spec", "addons", 0, "helm", "repo"], "https://charts.evil.example");
    const result = await load(head, { basePolicy: policy });
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([expect.stringMatching(/charts\.evil\.example.* is not in the fleet's spec\.chartRepositories/)]);
  });

  it("still reports the head's own mistakes in the sections it replaces", async () => {
    const policy = await basePolicy(fleetBuilder());
    const result = await load(fleetBuilder().set(FLEET, ["spec", "rollout", "waves", 0, "soak"], "forever"), { basePolicy: policy });
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([expect.stringMatching(/^fleet\.yaml:\d+:\d+: .*soak/)]);
  });
});
