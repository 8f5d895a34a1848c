/**
 * `interruptedEntries`: what a crashed run was in the middle of, which a resume must finish even when a
 * fresh plan no longer lists it.
 */
import { describe, expect, it } from "vitest";
import { applyEndRun, applyRecord, interruptedEntries, type JournalState, type RecordChange } from "../../../src/apply/journal.js";

const empty = (): JournalState => ({ runs: [], entries: new Map(), other: {} });
const at = (minute: number): Date => new Date(Date.UTC(2025, 5, 1, 12, minute));
const record = (state: JournalState, fields: Partial<RecordChange> & Pick<RecordChange, "stepId" | "state">): JournalState =>
  applyRecord(state, { runId: "crashed", planRevision: null, at: at(0), ...fields });

describe("interruptedEntries", () => {
  // The crashed run finished one step and was killed during the next.
  let state = record(empty(), { stepId: "c/addon.upgrade/web", state: "started", at: at(1) });
  state = record(state, { stepId: "c/addon.upgrade/web", state: "succeeded", at: at(2) });
  state = record(state, { stepId: "c/addon.install/slow", state: "started", at: at(3) });

  it("lists the steps a run that never ended started and did not finish", () => {
    expect(interruptedEntries(state, "resuming").map((e) => [e.stepId, e.runId])).toEqual([["c/addon.install/slow", "crashed"]]);
  });

  it("leaves out the current run's own steps (it is running them)", () => {
    expect(interruptedEntries(state, "crashed")).toEqual([]);
  });

  it("leaves out steps that failed, and everything of runs that ended", () => {
    const failed = record(state, { stepId: "c/addon.install/slow", state: "failed", at: at(4) });
    expect(interruptedEntries(failed, "resuming")).toEqual([]);
    const ended = applyEndRun(state, "resuming", null, at(9), "succeeded");
    expect(interruptedEntries(ended, "another")).toEqual([]);
  });

  it("forgets a step once the resuming run finished it", () => {
    const finished = record(state, { stepId: "c/addon.install/slow", state: "succeeded", runId: "resuming", at: at(5) });
    expect(interruptedEntries(finished, "later")).toEqual([]);
  });
});
