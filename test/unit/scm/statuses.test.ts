import { describe, expect, it } from "vitest";
import { planStatuses, STATUS_DESCRIPTION_LIMIT } from "../../../src/scm/statuses.js";
import { clusterPlan, planBuilder, step } from "../report/builder.js";

describe("planStatuses", () => {
  it("sets one status per cluster in plan order, then bosun/plan", () => {
    const statuses = planStatuses(planBuilder().build());
    expect(statuses.map((s) => [s.context, s.state])).toEqual([
      ["bosun/canary-1", "success"],
      ["bosun/staging-eu-1", "success"],
      ["bosun/prod-eu-1", "failure"],
      ["bosun/prod-us-1", "failure"],
      ["bosun/plan", "failure"],
    ]);
    expect(statuses[0]?.description).toBe("in sync: no steps");
    expect(statuses[1]?.description).toBe("changes: 7 steps (7 pending)");
    expect(statuses[2]?.description).toMatch(/^blocked: 2 steps \(1 blocked, 1 manual\): /);
    expect(statuses[3]?.description).toMatch(/^unreachable: no steps: cluster prod-us-1: GET/);
    expect(statuses[4]?.description).toBe("4 clusters: 1 in sync, 1 with changes, 1 blocked, 1 unreachable; 7 steps pending, 1 blocked, 1 manual");
  });

  it.each([
    ["in-sync", "success"],
    ["changes", "success"],
    ["blocked", "failure"],
    ["invalid", "failure"],
    ["unreachable", "failure"],
  ] as const)("a cluster %s is a %s", (status, state) => {
    const statuses = planStatuses(planBuilder().clusters(clusterPlan({ name: "one", status })).build());
    expect(statuses.map((s) => s.state)).toEqual([state, state]);
  });

  it("keeps descriptions on one line within 140 characters, control characters visible", () => {
    const reason = `a long reason\nwith \u001b[2J lines ${"x".repeat(300)}`;
    const statuses = planStatuses(planBuilder().clusters(clusterPlan({ name: "one", status: "blocked", steps: [step.apply("one", "app", { state: "blocked", reason })] })).build());
    for (const status of statuses) {
      expect(Array.from(status.description).length).toBeLessThanOrEqual(STATUS_DESCRIPTION_LIMIT);
      // eslint-disable-next-line no-control-regex -- the point of the test
      expect(status.description).not.toMatch(/[\u0000-\u001f]/);
    }
    expect(statuses[0]?.description).toMatch(/^blocked: 1 step \(1 blocked\): a long reason with \\x1b\[2J lines x+…$/);
  });
});
