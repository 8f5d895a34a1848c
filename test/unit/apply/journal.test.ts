/**
 * The pure parts of the apply journal: step keys, records, when a step counts as finished, retention, and
 * reading a journal someone edited.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JOURNAL_FORMAT_ANNOTATION } from "../../../src/constants.js";
import {
  DEFAULT_MAX_BYTES,
  MAX_DETAIL_LENGTH,
  RUNS_KEY,
  applyEndRun,
  applyRecord,
  applyRetention,
  dataBytes,
  decodeJournal,
  decodeStepKey,
  encodeJournal,
  encodeStepKey,
  fingerprint,
  isFinished,
  shortDetail,
  sortedEntries,
  stepFingerprint,
  type JournalState,
  type RecordChange,
} from "../../../src/apply/journal-state.js";
import type { AddonUpgradeStep } from "../../../src/plan/types.js";

const empty = (): JournalState => ({ runs: [], entries: new Map(), other: {} });
const at = (minute: number): Date => new Date(Date.UTC(2025, 5, 1, 12, minute));
const change = (fields: Partial<RecordChange> & Pick<RecordChange, "stepId" | "state">): RecordChange => ({ runId: "run1", planRevision: "rev1", at: at(0), ...fields });

describe("step keys", () => {
  it.each([
    ["prod-eu-1/controlPlane.upgrade/1.35.0", "prod-eu-1_2FcontrolPlane.upgrade_2F1.35.0"],
    ["canary-1/addon.upgrade/echo", "canary-1_2Faddon.upgrade_2Fecho"],
    ["x/backup.schedule", "x_2Fbackup.schedule"],
    ["alpha/topology.scale/3", "alpha_2Ftopology.scale_2F3"],
    ["a_b/c", "a_5Fb_2Fc"],
    [".hidden/..", "_2Ehidden_2F.."],
    ["ümlaut space", "_C3_BCmlaut_20space"],
  ])("%s ↔ %s", (id, key) => {
    expect(encodeStepKey(id)).toBe(key);
    expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
    expect(decodeStepKey(key)).toBe(id);
  });

  it("round-trips any string, always to a valid ConfigMap key", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }), (id) => {
        const key = encodeStepKey(id);
        expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
        expect(key.startsWith(".")).toBe(false);
        expect(decodeStepKey(key)).toBe(id);
      }),
    );
  });

  it("is not fooled by reserved or non-canonical keys", () => {
    expect(decodeStepKey(RUNS_KEY)).toBeUndefined();
    expect(decodeStepKey("a_41")).toBeUndefined(); // `A` spelled as an escape
    expect(decodeStepKey("a_2f")).toBeUndefined(); // lower-case hex
    expect(decodeStepKey("_FF")).toBeUndefined(); // not UTF-8
    expect(decodeStepKey(".a")).toBeUndefined(); // a leading dot is always escaped
    expect(decodeStepKey("")).toBeUndefined();
  });

  it("refuses ids that cannot be keys", () => {
    expect(() => encodeStepKey("")).toThrow(/cannot be empty/);
    expect(() => encodeStepKey(`c/addon.install/${"a".repeat(260)}`)).toThrow(/too long for a journal key/);
  });
});

describe("fingerprints", () => {
  const step: AddonUpgradeStep = {
    id: "c/addon.upgrade/echo",
    kind: "addon.upgrade",
    state: "pending",
    summary: "upgrade echo 1.0.0 → 1.1.0",
    addon: "echo",
    chart: "echo",
    chartVersion: { from: "1.0.0", to: "1.1.0" },
    valuesDiff: "",
    objects: [],
    diff: "",
  };

  it("ignores key order and presentation, not content", () => {
    expect(fingerprint({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(fingerprint({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(fingerprint({ a: 1 })).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(stepFingerprint({ ...step, state: "blocked", summary: "other words", reason: "x" })).toBe(stepFingerprint(step));
    expect(stepFingerprint({ ...step, chartVersion: { from: "1.0.0", to: "1.2.0" } })).not.toBe(stepFingerprint(step));
  });
});

describe("records", () => {
  it("registers the run once and keeps the latest record per step", () => {
    let state = applyRecord(empty(), change({ stepId: "c/a", state: "started", fingerprint: "f1" }));
    state = applyRecord(state, change({ stepId: "c/a", state: "succeeded", fingerprint: "f1", at: at(1), detail: "done" }));
    expect(state.runs).toEqual([{ runId: "run1", seq: 1, planRevision: "rev1", startedAt: at(0).toISOString() }]);
    expect(state.entries.get("c/a")).toEqual({ stepId: "c/a", state: "succeeded", runId: "run1", planRevision: "rev1", fingerprint: "f1", at: at(1).toISOString(), attempts: 1, detail: "done" });
  });

  it("counts starts of the same step until it succeeds; a changed step starts again at 1", () => {
    let state = applyRecord(empty(), change({ stepId: "c/a", state: "started", fingerprint: "f1" }));
    state = applyRecord(state, change({ stepId: "c/a", state: "started", fingerprint: "f1", runId: "run2" }));
    expect(state.entries.get("c/a")?.attempts).toBe(2);
    state = applyRecord(state, change({ stepId: "c/a", state: "failed", fingerprint: "f1", runId: "run2" }));
    expect(state.entries.get("c/a")?.attempts).toBe(2);
    expect(applyRecord(state, change({ stepId: "c/a", state: "started", fingerprint: "f2" })).entries.get("c/a")?.attempts).toBe(1);
    state = applyRecord(state, change({ stepId: "c/a", state: "succeeded", fingerprint: "f1", runId: "run2" }));
    expect(applyRecord(state, change({ stepId: "c/a", state: "started", fingerprint: "f1" })).entries.get("c/a")?.attempts).toBe(1);
    expect(state.runs.map((r) => [r.runId, r.seq])).toEqual([["run1", 1], ["run2", 2]]);
  });

  it("keeps details to one short line", () => {
    expect(shortDetail("  helm upgrade\n  timed out  ")).toBe("helm upgrade timed out");
    const long = shortDetail("x".repeat(500));
    expect(long).toHaveLength(MAX_DETAIL_LENGTH);
    expect(long.endsWith("…")).toBe(true);
    expect(applyRecord(empty(), change({ stepId: "c/a", state: "failed", detail: "  " })).entries.get("c/a")).not.toHaveProperty("detail");
  });

  it("lists records oldest first", () => {
    let state = applyRecord(empty(), change({ stepId: "c/b", state: "started", at: at(2) }));
    state = applyRecord(state, change({ stepId: "c/a", state: "started", at: at(2) }));
    state = applyRecord(state, change({ stepId: "c/z", state: "started", at: at(1) }));
    expect(sortedEntries(state).map((e) => e.stepId)).toEqual(["c/z", "c/a", "c/b"]);
  });
});

describe("finished", () => {
  const succeeded = applyRecord(empty(), change({ stepId: "c/a", state: "succeeded", fingerprint: "f1" }));

  it("is true for a success of an unended run with the same fingerprint", () => {
    expect(isFinished(succeeded, "c/a", "f1")).toBe(true);
    expect(isFinished(succeeded, "c/a")).toBe(true);
  });

  it("is false for another fingerprint (the plan changed the step), another state, or no record", () => {
    expect(isFinished(succeeded, "c/a", "f2")).toBe(false);
    expect(isFinished(applyRecord(succeeded, change({ stepId: "c/a", state: "started", fingerprint: "f1" })), "c/a", "f1")).toBe(false);
    expect(isFinished(applyRecord(succeeded, change({ stepId: "c/a", state: "failed", fingerprint: "f1" })), "c/a", "f1")).toBe(false);
    expect(isFinished(succeeded, "c/other")).toBe(false);
    expect(isFinished(applyRecord(empty(), change({ stepId: "c/a", state: "succeeded" })), "c/a", "f1")).toBe(false);
  });

  it("is false once the run ended, so a later drift repair is carried out", () => {
    const ended = applyEndRun(succeeded, "run1", "rev1", at(5), "succeeded");
    expect(ended.runs[0]).toMatchObject({ endedAt: at(5).toISOString(), outcome: "succeeded" });
    expect(isFinished(ended, "c/a", "f1")).toBe(false);
  });

  it("ends crashed earlier runs with the run that resumed them", () => {
    const resumed = applyRecord(succeeded, change({ stepId: "c/b", state: "succeeded", runId: "run2" }));
    expect(isFinished(resumed, "c/a", "f1")).toBe(true); // the crashed run's success is a resume point
    const ended = applyEndRun(resumed, "run2", "rev1", at(9), "succeeded");
    expect(ended.runs.map((r) => [r.runId, r.outcome])).toEqual([["run1", "failed"], ["run2", "succeeded"]]);
    expect(isFinished(ended, "c/a", "f1")).toBe(false);
  });

  it("is false when the run is no longer listed", () => {
    expect(isFinished({ ...succeeded, runs: [] }, "c/a", "f1")).toBe(false);
  });
});

describe("retention", () => {
  /** `count` runs, each recording its own step and (but the last) ending. */
  const history = (count: number, endLast = true): JournalState => {
    let state = empty();
    for (let i = 1; i <= count; i += 1) {
      state = applyRecord(state, change({ stepId: `c/step/${i}`, state: "succeeded", runId: `run${i}`, at: at(i) }));
      if (i < count || endLast) state = applyEndRun(state, `run${i}`, "rev", at(i), "succeeded");
    }
    return state;
  };

  it("keeps the last runs and their records", () => {
    const kept = applyRetention(history(12), "run12", { keepRuns: 10, maxBytes: DEFAULT_MAX_BYTES });
    expect(kept.runs.map((r) => r.runId)).toEqual(["run3", "run4", "run5", "run6", "run7", "run8", "run9", "run10", "run11", "run12"]);
    expect([...kept.entries.keys()]).not.toContain("c/step/2");
    expect(kept.entries.size).toBe(10);
  });

  it("keeps the current run and unended runs that still own a record, however old", () => {
    let state = applyRecord(empty(), change({ stepId: "c/crashed", state: "succeeded", runId: "old-crash", at: at(0) }));
    state = applyRecord(state, change({ stepId: "c/nothing-left", state: "started", runId: "old-empty", at: at(0) }));
    state = applyRecord(state, change({ stepId: "c/nothing-left", state: "succeeded", runId: "later", at: at(1) }));
    for (let i = 1; i <= 5; i += 1) state = applyEndRun(applyRecord(state, change({ stepId: `c/s${i}`, state: "succeeded", runId: `r${i}` })), `r${i}`, "rev", at(i), "failed");
    // applyEndRun ended the crashed runs too; make one look crashed again to test the rule on its own.
    state = { ...state, runs: state.runs.map((r) => (r.runId === "old-crash" || r.runId === "old-empty" ? { runId: r.runId, seq: r.seq, planRevision: r.planRevision, startedAt: r.startedAt } : r)) };
    const kept = applyRetention(state, "current", { keepRuns: 2, maxBytes: DEFAULT_MAX_BYTES });
    expect(kept.runs.map((r) => r.runId)).toEqual(["old-crash", "r4", "r5"]);
    expect(isFinished(kept, "c/crashed")).toBe(true);
  });

  it("drops whole runs, oldest and ended first, to stay under the size budget — never the current one", () => {
    let state = history(4, false);
    state = applyRecord(state, change({ stepId: "c/big", state: "succeeded", runId: "run4", detail: "d".repeat(150) }));
    const size = (s: JournalState): number => dataBytes(encodeJournal(s));
    const budget = size(applyRetention(state, "run4", { keepRuns: 2, maxBytes: Number.MAX_SAFE_INTEGER }));
    const kept = applyRetention(state, "run4", { keepRuns: 10, maxBytes: budget });
    expect(size(kept)).toBeLessThanOrEqual(budget);
    expect(kept.runs.map((r) => r.runId)).toEqual(["run3", "run4"]);
    expect(applyRetention(state, "run4", { keepRuns: 10, maxBytes: 1 }).runs.map((r) => r.runId)).toEqual(["run4"]);
  });

  it("bounds the journal of a thousand runs", () => {
    const kept = applyRetention(history(1000), "run1000", { keepRuns: 10, maxBytes: DEFAULT_MAX_BYTES });
    expect(kept.runs).toHaveLength(10);
    expect(dataBytes(encodeJournal(kept))).toBeLessThan(8 * 1024);
  });
});

describe("the stored format", () => {
  it("round-trips through ConfigMap data", () => {
    let state = applyRecord(empty(), change({ stepId: "prod-eu-1/controlPlane.upgrade/1.35.0", state: "started", fingerprint: "f", detail: "node cp-1" }));
    state = applyEndRun(state, "run1", "rev1", at(3), "failed");
    const data = encodeJournal(state);
    expect(Object.keys(data).sort()).toEqual(["_runs", "prod-eu-1_2FcontrolPlane.upgrade_2F1.35.0"]);
    expect(JSON.parse(data["prod-eu-1_2FcontrolPlane.upgrade_2F1.35.0"] ?? "")).toEqual({
      state: "started",
      runId: "run1",
      planRevision: "rev1",
      fingerprint: "f",
      at: at(0).toISOString(),
      attempts: 1,
      detail: "node cp-1",
    });
    expect(decodeJournal({ data }, "c")).toEqual(state);
  });

  it("keeps what it cannot read without trusting it (but rewrites its own unreadable run list)", () => {
    const data = { "c_2Fa": "not json", "c_2Fb": '{"state":"done","runId":"r","at":"t"}', "hand-made": "x", [RUNS_KEY]: "[1]" };
    const state = decodeJournal({ data }, "c");
    expect(state.entries.size).toBe(0);
    expect(state.runs).toEqual([]);
    expect(state.other).toEqual(data);
    expect(encodeJournal(state)).toEqual({ ...data, [RUNS_KEY]: "[]" });
  });

  it("refuses a journal written in another format", () => {
    expect(() => decodeJournal({ metadata: { annotations: { [JOURNAL_FORMAT_ANNOTATION]: "2" } }, data: {} }, "c")).toThrow(
      "c:ConfigMap/bosun-system/bosun-journal: journal format 2 is not one this bosun reads (1); upgrade bosun",
    );
    expect(decodeJournal(null, "c")).toEqual(empty());
  });
});
