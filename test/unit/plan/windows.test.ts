import { describe, expect, it } from "vitest";
import { windowOpen, windowVerdict } from "../../../src/plan/windows.js";
import type { DesiredWindow } from "../../../src/spec/types.js";

/** fleet-example's windows: Berlin nights Mon–Thu 22:00 for 6h, a year-end freeze in UTC. */
const nights: DesiredWindow = {
  name: "prod-eu-nights",
  kind: "allow",
  schedule: "0 22 * * 1-4",
  durationSeconds: 6 * 3600,
  timeZone: "Europe/Berlin",
  operations: ["upgrade", "addons"],
  clusters: ["prod-eu-1"],
};
const freeze: DesiredWindow = {
  name: "year-end-freeze",
  kind: "deny",
  schedule: "0 0 20 12 *",
  durationSeconds: 336 * 3600,
  timeZone: "UTC",
  operations: ["upgrade"],
  clusters: ["canary-1", "prod-eu-1"],
};
const windows = [nights, freeze];

describe("maintenance windows", () => {
  it.each([
    // Monday 23 November 2026. Berlin is UTC+1 in winter: 22:00 Berlin = 21:00 UTC.
    ["2026-11-23T20:59:00Z", false, "a minute before it opens"],
    ["2026-11-23T21:00:00Z", true, "as it opens"],
    ["2026-11-24T02:59:00Z", true, "in its last minute (6h)"],
    ["2026-11-24T03:00:00Z", false, "when it has closed"],
    ["2026-11-27T21:30:00Z", false, "on a Friday night (1-4 is Monday to Thursday)"],
    // Summer time: 22:00 Berlin = 20:00 UTC.
    ["2026-07-06T20:00:00Z", true, "in summer, at 22:00 Berlin time"],
    ["2026-07-06T19:59:00Z", false, "in summer, a minute before"],
  ])("the Berlin nights window at %s is open: %s (%s)", (at, open) => {
    expect(windowOpen(nights, new Date(at))).toBe(open);
  });

  it("lets an operation run only inside one of the cluster's allow windows", () => {
    expect(windowVerdict(windows, "prod-eu-1", "addons", new Date("2026-11-23T22:00:00Z"))).toEqual({ allowed: true, openWindow: "prod-eu-nights" });
    const outside = windowVerdict(windows, "prod-eu-1", "addons", new Date("2026-11-23T12:00:00Z"));
    expect(outside).toEqual({ allowed: false, reason: 'outside its allow window for addons: prod-eu-nights ("0 22 * * 1-4" Europe/Berlin, 6h)' });
  });

  it("does not restrict operations or clusters no window governs", () => {
    expect(windowVerdict(windows, "prod-eu-1", "backup", new Date("2026-11-23T12:00:00Z"))).toEqual({ allowed: true });
    expect(windowVerdict(windows, "staging-eu-1", "upgrade", new Date("2026-12-24T12:00:00Z"))).toEqual({ allowed: true });
  });

  it("blocks during an open deny window, even inside an allow window", () => {
    const christmasNight = new Date("2026-12-22T22:00:00Z"); // a Tuesday, 23:00 Berlin: the nights window is open
    expect(windowOpen(nights, christmasNight)).toBe(true);
    const verdict = windowVerdict(windows, "prod-eu-1", "upgrade", christmasNight);
    expect(verdict.allowed).toBe(false);
    expect(!verdict.allowed && verdict.reason).toMatch(/^deny window year-end-freeze is open/);
    expect(windowVerdict(windows, "canary-1", "upgrade", new Date("2027-01-02T23:59:00Z")).allowed).toBe(false);
    expect(windowVerdict(windows, "canary-1", "upgrade", new Date("2027-01-03T00:00:00Z")).allowed).toBe(true);
  });
});
