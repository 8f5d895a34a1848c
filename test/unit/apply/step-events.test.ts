/**
 * The Event bosun writes for a step (pure part): fields, MicroTime, the note's escaping and 1 kB limit.
 */
import { describe, expect, it } from "vitest";
import { NOTE_LIMIT_BYTES, stepEventObject, truncateUtf8 } from "../../../src/apply/step-events.js";

const base = {
  cluster: "prod-eu-1",
  step: { id: "prod-eu-1/addon.install/web", kind: "addon.install" as const, summary: "install web" },
  runId: "9f1c2a3b4d5e",
  revision: "3f2a9c",
};
const at = { name: "bosun-9f1c2a3b4d5e-1", reportingInstance: "bosun-7d9f-abcde", now: new Date("2026-06-01T12:03:10.123Z") };

describe("stepEventObject", () => {
  it("builds an events.k8s.io/v1 Event regarding the journal", () => {
    expect(stepEventObject({ ...base, phase: "started" }, at)).toEqual({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "bosun-9f1c2a3b4d5e-1", namespace: "bosun-system", labels: { "app.kubernetes.io/managed-by": "bosun" } },
      eventTime: "2026-06-01T12:03:10.123000Z",
      type: "Normal",
      reason: "StepStarted",
      action: "addon.install",
      note: "prod-eu-1/addon.install/web: install web at revision 3f2a9c; run 9f1c2a3b4d5e",
      regarding: { apiVersion: "v1", kind: "ConfigMap", namespace: "bosun-system", name: "bosun-journal" },
      reportingController: "bosun.dev/bosun",
      reportingInstance: "bosun-7d9f-abcde",
    });
  });

  it("marks a failure as a Warning with its reason, escaping control characters and keeping to 1 kB", () => {
    const object = stepEventObject({ ...base, phase: "failed", seconds: 2.25, detail: `helm said\n\u001b[31mno${"é".repeat(2000)}` }, at);
    expect(object).toMatchObject({ type: "Warning", reason: "StepFailed" });
    const note = String(object.note);
    expect(note.startsWith("prod-eu-1/addon.install/web failed (2.3 s): helm said\\n\\u001b[31mno")).toBe(true);
    // eslint-disable-next-line no-control-regex -- asserting none are left
    expect(note).not.toMatch(/[\u0000-\u001f]/);
    expect(Buffer.byteLength(note, "utf8")).toBeLessThanOrEqual(NOTE_LIMIT_BYTES);
    expect(note.endsWith("…")).toBe(true);
  });

  it("reports what a succeeded step did", () => {
    expect(stepEventObject({ ...base, revision: null, phase: "succeeded", seconds: 1, detail: "installed web 1.2.0" }, at).note).toBe("prod-eu-1/addon.install/web: installed web 1.2.0 (1.0 s); run 9f1c2a3b4d5e");
  });
});

describe("truncateUtf8", () => {
  it.each([
    ["short", 10, "short"],
    ["abcdefghij", 10, "abcdefghij"],
    ["abcdefghijk", 10, "abcdefg…"],
    ["ééééé", 8, "éé…"],
  ])("truncateUtf8(%s, %i) = %s", (text, limit, expected) => {
    expect(truncateUtf8(text, limit)).toBe(expected);
    expect(Buffer.byteLength(truncateUtf8(text, limit))).toBeLessThanOrEqual(limit);
  });
});
