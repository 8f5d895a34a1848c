/**
 * `bosun apply` stops starting steps on a cluster once its maintenance window closes (the step in progress
 * finishes): the stop signal aborts at the window's end, and never for a cluster no window governs.
 */
import { describe, expect, it } from "vitest";
import { windowCloseStop } from "../../../src/apply/run.js";
import type { ClusterPlan } from "../../../src/plan/types.js";
import type { DesiredFleet } from "../../../src/spec/types.js";

// An allow window for add-ons, daily 02:00–03:00 UTC, on c1 only.
const fleet = { windows: [{ name: "nights", kind: "allow", schedule: "0 2 * * *", durationSeconds: 3600, timeZone: "UTC", operations: ["addons"], clusters: ["c1"] }] } as unknown as DesiredFleet;
const pending = (name: string): ClusterPlan =>
  ({ name, steps: [{ id: `${name}/addon.install/web`, kind: "addon.install", state: "pending", summary: "" }] }) as unknown as ClusterPlan;

describe("windowCloseStop", () => {
  it("aborts when the cluster's window closes, saying so", async () => {
    // 50 ms before 03:00: the window is open and closes at 03:00.
    const stop = windowCloseStop(fleet, pending("c1"), new Date(Date.UTC(2026, 11, 2, 2, 59, 59, 950)));
    expect(stop).toBeDefined();
    expect(stop?.signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stop?.signal.aborted).toBe(true);
    expect((stop?.signal.reason as Error).message).toBe("a maintenance window closed");
  });

  it("is nothing for a cluster no window governs, and can be cancelled", async () => {
    expect(windowCloseStop(fleet, pending("c2"), new Date(Date.UTC(2026, 11, 2, 2, 30)))).toBeUndefined();
    const stop = windowCloseStop(fleet, pending("c1"), new Date(Date.UTC(2026, 11, 2, 2, 59, 59, 950)));
    stop?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stop?.signal.aborted).toBe(false);
  });
});
