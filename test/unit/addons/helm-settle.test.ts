/**
 * `settleWaitMs`: how long a `pending-*` Helm revision is left to the helm process that may still be
 * working on it (the orphan of a killed bosun) before bosun recovers it.
 */
import { describe, expect, it } from "vitest";
import { SETTLE_MARGIN_SECONDS, settleWaitMs } from "../../../src/addons/helm-apply.js";

const at = (seconds: number): Date => new Date(Date.UTC(2026, 10, 24, 12, 0, seconds));

describe("settleWaitMs", () => {
  const grace = 300 + SETTLE_MARGIN_SECONDS; // a 5m add-on timeout

  it.each([
    ["just written", 0, grace * 1000],
    ["written 100 s ago", 100, (grace - 100) * 1000],
    ["exactly as old as the grace", grace, 0],
    ["older than the grace (no helm left behind it)", grace + 1, 0],
  ])("a revision %s waits the rest of the grace", (_what, age, expected) => {
    expect(settleWaitMs(at(0), grace, new Date(at(0).getTime() + age * 1000))).toBe(expected);
  });

  it("recovers at once when the revision's age is unknown, or with no grace", () => {
    expect(settleWaitMs(undefined, grace, at(0))).toBe(0);
    expect(settleWaitMs(new Date("not a date"), grace, at(0))).toBe(0);
    expect(settleWaitMs(at(0), 0, at(0))).toBe(0);
  });
});
