/**
 * The loader's parts on their own: cron, durations, formats, merging, and issue formatting.
 */
import fs from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { parseCron } from "../../../src/spec/cron.js";
import { formatDuration, parseDuration } from "../../../src/spec/duration.js";
import { FORMATS } from "../../../src/spec/formats.js";
import { formatIssue } from "../../../src/spec/issues.js";
import { loadFleet } from "../../../src/spec/load.js";
import { fleetBuilder, type FleetBuilder } from "./builder.js";

const written: string[] = [];

/** Writes a builder's fleet and remembers the directory for cleanup. */
async function write(builder: FleetBuilder): Promise<string> {
  const dir = await builder.write();
  written.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(written.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe("parseCron", () => {
  it.each([
    ["0 22 * * 1-5", { hours: [22], daysOfWeek: [1, 2, 3, 4, 5] }],
    ["*/15 * * * *", { minutes: [0, 15, 30, 45] }],
    ["0 0 1 jan,jul *", { months: [1, 7] }],
    ["0 3 * * sun,7", { daysOfWeek: [0] }],
    ["@daily", { minutes: [0], hours: [0] }],
    ["0 0 29 2 *", { daysOfMonth: [29], months: [2] }],
  ])("%s", (text, expected) => {
    const parsed = parseCron(text);
    expect("schedule" in parsed ? parsed.schedule : parsed).toMatchObject(expected);
  });

  it.each([
    ["* * * *", "needs 5 fields"],
    ["60 * * * *", "minute 60 is outside 0-59"],
    ["* * * * mon-sun-x", "is not a value, a range or a step"],
    ["5-1 * * * *", "runs backwards"],
    ["*/0 * * * *", "step \"0\" must be a positive number"],
    ["0 0 31 4,6 *", "never fires"],
    ["0 0 * * funday", "is not a number or a name"],
  ])("rejects %s", (text, problem) => {
    const parsed = parseCron(text);
    expect("problem" in parsed ? parsed.problem : "").toContain(problem);
  });
});

describe("durations", () => {
  it.each([
    ["90s", 90],
    ["10m", 600],
    ["1h30m", 5400],
    ["336h", 1_209_600],
  ])("%s is %i seconds and formats back", (text, seconds) => {
    expect(parseDuration(text)).toEqual({ seconds });
    expect(formatDuration(seconds)).toBe(text === "90s" ? "1m30s" : text);
  });

  it.each(["", "10", "1d", "10min", "1m1h", "-5s"])("rejects %j", (text) => {
    expect("problem" in parseDuration(text)).toBe(true);
  });
});

describe("formats", () => {
  it.each([
    ["dns-label", "prod-eu-1", true],
    ["dns-label", "-prod", false],
    ["dns-label", "a".repeat(64), false],
    ["k8s-version", "1.34.2", true],
    ["k8s-version", "1.34.02", false],
    ["chart-version", "4.11.3-rc.1", true],
    ["chart-version", "~4.11", false],
    ["time-zone", "America/New_York", true],
    ["time-zone", "Berlin", false],
    ["label-key", "topology.kubernetes.io/zone", true],
    ["label-key", "bad key", false],
    ["host-port", "[::1]:6443", true],
    ["host-port", "api:99999", false],
  ])("%s %j → %s", (format, value, ok) => {
    expect(FORMATS[format]?.(value) === undefined).toBe(ok);
  });
});

describe("merging defaults", () => {
  it("a mistake in the defaults is reported once, not once per cluster", async () => {
    const dir = await write(fleetBuilder().set("fleet.yaml", ["spec", "defaults", "topology", "controlPlane", "replicas"], 2));
    const result = await loadFleet(dir);
    const errors = result.ok ? [] : result.errors.map(formatIssue);
    expect(errors.filter((e) => e.includes("replicas must be odd"))).toHaveLength(1);
  });

  it("reports every error of every file at once, in file and line order", async () => {
    const dir = await write(fleetBuilder()
      .set("clusters/prod.yaml", ["spec", "topology", "controlPlane", "replicas"], 4)
      .set("clusters/canary.yaml", ["spec", "addons", 0, "dependsOn"], ["nope"])
      .set("fleet.yaml", ["spec", "windows", 0, "timeZone"], "Nowhere/Land")
      );
    const result = await loadFleet(dir);
    const files = result.ok ? [] : result.errors.map((e) => e.file);
    expect(files).toEqual(["clusters/canary.yaml", "clusters/prod.yaml", "fleet.yaml"]);
  });

  it("a cluster replaces a default add-on by name, and connection/provider as a whole", async () => {
    const dir = await write(fleetBuilder()
      .set("clusters/prod.yaml", ["spec", "addons", 1], { name: "metrics", kustomize: { path: "kustomize/base" } })
      .set("clusters/prod.yaml", ["spec", "provider"], { clusterAPI: { context: "mgmt", namespace: "fleet", name: "prod" } })
      );
    const result = await loadFleet(dir);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    const prod = result.value.clusters.find((c) => c.name === "prod");
    expect(prod?.addons.map((a) => [a.name, a.source.kind])).toEqual([["metrics", "kustomize"], ["web", "helm"]]);
    expect(prod?.provider.kind).toBe("clusterAPI");
  });

  it("a wave with an empty selector catches every cluster left, and later waves get a warning", async () => {
    const dir = await write(fleetBuilder()
      .cluster("clusters/dev.yaml", "dev", { env: "dev" })
      .set("fleet.yaml", ["spec", "rollout", "waves", 2], { name: "rest", selector: {} })
      .set("fleet.yaml", ["spec", "rollout", "waves", 3], { name: "never", selector: { matchLabels: { env: "x" } } })
      );
    const result = await loadFleet(dir);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    expect(result.value.clusters.find((c) => c.name === "dev")?.wave).toBe("rest");
    expect(result.warnings.map((w) => w.message)).toContain('wave "never" can never have clusters: wave "rest" before it selects every cluster');
  });
});
