import { describe, expect, it } from "vitest";
import { nextWindowChange } from "../../../src/plan/windows.js";
import type { DesiredWindow } from "../../../src/spec/types.js";

function window(over: Partial<DesiredWindow>): DesiredWindow {
  return { name: "w", kind: "allow", schedule: "0 22 * * *", durationSeconds: 6 * 3600, timeZone: "UTC", operations: ["upgrade", "addons"], clusters: ["c"], ...over };
}

describe("nextWindowChange", () => {
  it("gives the moment a closed allow window opens, and while open, the moment it closes", () => {
    const windows = [window({})];
    expect(nextWindowChange(windows, "c", ["addons"], new Date("2026-12-02T12:00:00Z"))?.toISOString()).toBe("2026-12-02T22:00:00.000Z");
    expect(nextWindowChange(windows, "c", ["addons"], new Date("2026-12-02T23:30:00Z"))?.toISOString()).toBe("2026-12-03T04:00:00.000Z");
  });

  it("reads the schedule in the window's time zone", () => {
    const windows = [window({ timeZone: "Europe/Berlin" })];
    // 22:00 in Berlin in December is 21:00 UTC.
    expect(nextWindowChange(windows, "c", ["upgrade"], new Date("2026-12-02T12:00:00Z"))?.toISOString()).toBe("2026-12-02T21:00:00.000Z");
  });

  it("gives the end of an open deny window, and null for a cluster or operation no window names", () => {
    const deny = [window({ kind: "deny", schedule: "0 0 20 12 *", durationSeconds: 336 * 3600, operations: ["upgrade"] })];
    expect(nextWindowChange(deny, "c", ["upgrade"], new Date("2026-12-25T00:00:00Z"))?.toISOString()).toBe("2027-01-03T00:00:00.000Z");
    expect(nextWindowChange(deny, "other", ["upgrade"], new Date("2026-12-25T00:00:00Z"))).toBeNull();
    expect(nextWindowChange(deny, "c", ["backup"], new Date("2026-12-25T00:00:00Z"))).toBeNull();
  });

  it("needs every operation allowed: a deny window on one of them keeps it closed", () => {
    const windows = [window({ schedule: "0 * * * *", durationSeconds: 3600 * 24 }), window({ name: "d", kind: "deny", schedule: "0 12 * * *", durationSeconds: 3600, operations: ["upgrade"] })];
    expect(nextWindowChange(windows, "c", ["upgrade", "addons"], new Date("2026-12-02T12:10:00Z"))?.toISOString()).toBe("2026-12-02T13:00:00.000Z");
  });
});
