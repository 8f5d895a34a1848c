/**
 * The terminal rendering: golden files with colour off and on, aligned columns, and no escape code that
 * bosun did not write itself.
 */
import { describe, expect, it } from "vitest";
import { renderText } from "../../../src/report/text.js";
import { clusterPlan, everyKindCluster, planBuilder, step } from "./builder.js";
import { expectGolden } from "./golden.js";

const ESC = "\u001b";

describe("renderText", () => {
  it("shows a new object as one line and a changed one in full", () => {
    const created = "--- /dev/null\n+++ desired/Deployment/web/web\n@@ -0,0 +1,3 @@\n+apiVersion: apps/v1\n+kind: Deployment\n+spec: {}\n";
    const changed = "--- live/ConfigMap/web/settings\n+++ desired/ConfigMap/web/settings\n@@ -1,2 +1,2 @@\n data:\n-  level: info\n+  level: debug\n";
    const plan = planBuilder()
      .clusters(clusterPlan({ name: "one", status: "changes", steps: [step.install("one", "web", { diff: created + changed })] }))
      .build();
    const text = renderText(plan, { color: false });
    expect(text).toContain("+ Deployment/web/web (new, 3 lines)");
    expect(text).not.toContain("+kind: Deployment");
    expect(text).toMatch(/- {2}level: info\n.*\+ {2}level: debug/);
  });

  it("matches the golden plan.txt without colour", async () => {
    await expectGolden("plan.txt", renderText(planBuilder().build(), { color: false }));
  });

  it("matches the golden plan.color.txt with colour", async () => {
    await expectGolden("plan.color.txt", renderText(planBuilder().build(), { color: true }));
  });

  it("has no escape codes at all without colour", () => {
    expect(renderText(planBuilder().cluster(everyKindCluster()).build(), { color: false })).not.toContain(ESC);
  });

  it("colours statuses: in-sync green, changes yellow, trouble red", () => {
    const text = renderText(planBuilder().build(), { color: true });
    expect(text).toContain(`${ESC}[32min-sync${ESC}[39m`);
    expect(text).toContain(`${ESC}[33mchanges${ESC}[39m`);
    expect(text).toContain(`${ESC}[31mblocked${ESC}[39m`);
    expect(text).toContain(`${ESC}[31munreachable${ESC}[39m`);
  });

  it("colours added and removed diff lines", () => {
    const text = renderText(planBuilder().build(), { color: true });
    expect(text).toContain(`${ESC}[32m+  replicaCount: 3${ESC}[39m`);
    expect(text).toContain(`${ESC}[31m-  replicaCount: 2${ESC}[39m`);
  });

  it("starts with the fleet, the short revision and the time, and ends with the summary line", () => {
    const lines = renderText(planBuilder().build(), { color: false }).trimEnd().split("\n");
    expect(lines[0]).toBe(
      "bosun plan for fleet acme, revision 3f2a9c1 (main of https://github.com/acme/fleet.git), generated 2026-11-23 12:00:00 UTC",
    );
    expect(lines.at(-1)).toBe("4 clusters: 1 in sync, 1 with changes, 1 blocked, 1 unreachable; 7 steps pending, 1 blocked, 1 manual");
  });

  it('says "local" for a fleet directory that is not a Git checkout', () => {
    const first = renderText(planBuilder().local("fleets/acme").build(), { color: false }).split("\n")[0];
    expect(first).toBe("bosun plan for fleet acme, revision local (directory fleets/acme), generated 2026-11-23 12:00:00 UTC");
  });

  it("aligns state, kind and summary in columns across the whole plan", () => {
    const text = renderText(planBuilder().cluster(everyKindCluster()).build(), { color: false });
    const rows = text.split("\n").filter((line) => /^ {2}(pending|blocked|manual|finding) /.test(line));
    expect(rows.length).toBeGreaterThan(20);
    const summaryColumn = new Set(rows.map((row) => /^ {2}\S+\s+\S+\s+/.exec(row)?.[0].length));
    // The widest state is 7 ("pending", "finding"), the widest kind a finding's: topology.etcd-endpoints.
    expect([...summaryColumn]).toEqual([2 + 7 + 2 + "topology.etcd-endpoints".length + 2]);
  });

  it("hangs blocked reasons and runbooks under the step, multi-line text indented", () => {
    const text = renderText(planBuilder().build(), { color: false });
    expect(text).toContain(
      [
        "  blocked  addon.install         install cert-manager (cannot render it)",
        "           blocked: cert-manager: helm exited with code 1:",
        "                    Error: failed to fetch https://charts.jetstack.io/charts/cert-manager-v1.16.2.tgz : 404 Not Found",
      ].join("\n"),
    );
    expect(text).toContain("           runbook:\n             1. On an existing control-plane node:");
  });

  it("shows version ranges and where they go", () => {
    const text = renderText(planBuilder().build(), { color: false });
    expect(text).toContain("  versions  control plane 1.33.13 → 1.35.4, workers 1.33.13..1.34.4 → 1.35.4\n");
    expect(text).toContain("  versions  control plane 1.35.4, workers 1.35.4\n");
    expect(text).toContain("  versions  1.35.4 desired, not observed\n");
  });

  it.each([
    ["a cluster reason", { reason: `boom ${ESC}[2J${ESC}]0;owned\u0007` }],
    ["a step summary", { steps: [step.snapshot("x", "1.35.4", { summary: `snap\r${ESC}[31mred` })] }],
    ["a diff", { steps: [step.apply("x", "echo", { diff: `--- a\n+++ b\n+${ESC}[8mhidden\u009b1m\n` })] }],
  ])("makes control characters in %s visible instead of passing them to the terminal", (_name, fields) => {
    const plan = planBuilder().clusters(clusterPlan({ name: "x", status: "blocked", ...fields })).build();
    const plain = renderText(plan, { color: false });
    expect(plain).not.toContain(ESC);
    expect(plain).not.toContain("\r");
    expect(plain).not.toContain("\u009b");
    expect(plain).toContain("\\x1b[");
    // With colour, the only escapes are the SGR codes bosun writes itself.
    const colored = renderText(plan, { color: true });
    expect(colored.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), "")).not.toContain(ESC);
  });

  it("renders an empty plan", () => {
    expect(renderText(planBuilder().clusters().build(), { color: false })).toBe(
      "bosun plan for fleet acme, revision 3f2a9c1 (main of https://github.com/acme/fleet.git), generated 2026-11-23 12:00:00 UTC\n\n0 clusters; no steps\n",
    );
  });
});
