/**
 * Property tests over any plan the types allow (and the schema accepts), with hostile text everywhere:
 * control characters, escape sequences, fences, HTML, table pipes. The renderers never throw, plain text
 * never carries an escape code, JSON round-trips, and markdown stays within its limit.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClusterPlan, Finding, ObjectSummary, Plan, PlanSource, Step, StepState, VersionRange } from "../../../src/plan/types.js";
import { readPlan, renderJson } from "../../../src/report/json.js";
import { PLAN_COMMENT_MARKER, renderMarkdown } from "../../../src/report/markdown.js";
import { renderText } from "../../../src/report/text.js";
import { summarize } from "./builder.js";

/** An SGR escape sequence, the only kind of escape renderText writes. */
const SGR = new RegExp(String.raw`\u001b\[\d+m`, "g");

/** Pieces that have broken renderers elsewhere. */
const NASTY = ["\u001b[31m", "\u001b]0;x\u0007", "\r", "\n", "\t", "\u009b", "```", "````", "<details>", "</details>", "|", "*", "_", "`", "<!--", "-->", "&amp;", "\\", "@@ -1 +1 @@"];

const text = fc.array(fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom(...NASTY)), { maxLength: 6 }).map((parts) => parts.join(""));
const name = text.filter((t) => t.length > 0);
const diff = fc
  .array(fc.oneof(fc.constantFrom("--- a", "+++ b", "@@ -1,2 +1,2 @@", "+added", "-removed", " same", "", "```", "`````diff"), text), { maxLength: 12 })
  .map((lines) => (lines.length === 0 ? "" : `${lines.join("\n")}\n`));
const state = fc.constantFrom<StepState>("pending", "blocked", "manual");
const count = fc.nat({ max: 50 });
const range: fc.Arbitrary<VersionRange> = fc.record({ oldest: name, newest: name });
const objects: fc.Arbitrary<ObjectSummary[]> = fc.array(fc.record({ id: name, action: fc.constantFrom("create" as const, "update" as const, "unserved" as const) }), { maxLength: 3 });
const addonKind = fc.constantFrom("helm" as const, "kustomize" as const);

const base = { id: name, state, summary: text };
const optionalReason = { requiredKeys: ["id", "kind", "state", "summary"] as ("id" | "kind" | "state" | "summary")[] };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ ...base, kind: fc.constant("backup.snapshot" as const), reason: text }, optionalReason),
  fc.record({ ...base, kind: fc.constant("controlPlane.upgrade" as const), reason: text, from: name, to: name, targets: fc.array(name, { maxLength: 3 }) }, { requiredKeys: ["id", "kind", "state", "summary", "from", "to", "targets"] }),
  fc.record(
    { ...base, kind: fc.constant("workers.upgrade" as const), reason: text, from: name, to: name, targets: fc.array(name, { maxLength: 3 }), batchSize: fc.integer({ min: 1, max: 10 }) },
    { requiredKeys: ["id", "kind", "state", "summary", "from", "to", "targets", "batchSize"] },
  ),
  fc.record(
    { ...base, kind: fc.constant("topology.scale" as const), reason: text, from: fc.nat({ max: 7 }), to: fc.integer({ min: 1, max: 7 }), runbook: fc.array(text, { maxLength: 4 }) },
    { requiredKeys: ["id", "kind", "state", "summary", "from", "to"] },
  ),
  fc.record(
    { ...base, kind: fc.constant("addon.install" as const), reason: text, addon: name, addonKind, chart: text, chartVersion: text, objects, diff },
    { requiredKeys: ["id", "kind", "state", "summary", "addon", "addonKind", "objects", "diff"] },
  ),
  fc.record(
    { ...base, kind: fc.constant("addon.upgrade" as const), reason: text, addon: name, chart: text, chartVersion: fc.record({ from: text, to: text }), valuesDiff: diff, objects, diff },
    { requiredKeys: ["id", "kind", "state", "summary", "addon", "chart", "chartVersion", "valuesDiff", "objects", "diff"] },
  ),
  fc.record({ ...base, kind: fc.constant("addon.apply" as const), reason: text, addon: name, objects, diff }, { requiredKeys: ["id", "kind", "state", "summary", "addon", "objects", "diff"] }),
  fc.record({ ...base, kind: fc.constant("addon.prune" as const), reason: text, addon: name, objects: fc.array(name, { maxLength: 3 }) }, { requiredKeys: ["id", "kind", "state", "summary", "addon", "objects"] }),
  fc.record(
    { ...base, kind: fc.constant("addon.uninstall" as const), reason: text, addon: name, addonKind, namespace: fc.option(text, { nil: null }) },
    { requiredKeys: ["id", "kind", "state", "summary", "addon", "addonKind", "namespace"] },
  ),
  fc.record(
    { ...base, kind: fc.constant("backup.schedule" as const), reason: text, action: fc.constantFrom("create" as const, "update" as const, "delete" as const), schedule: fc.option(text, { nil: null }), diff },
    { requiredKeys: ["id", "kind", "state", "summary", "action", "schedule", "diff"] },
  ),
);

const finding: fc.Arbitrary<Finding> = fc.record({
  kind: fc.constantFrom("backup.stale" as const, "backup.never-succeeded" as const, "node.not-ready" as const, "node.cordoned" as const, "release.unknown" as const),
  message: text,
});

const cluster: fc.Arbitrary<ClusterPlan> = fc.record(
  {
    name,
    wave: name,
    status: fc.constantFrom("in-sync" as const, "changes" as const, "blocked" as const, "unreachable" as const, "invalid" as const),
    reason: text,
    driver: fc.constantFrom("kubeadm" as const, "clusterAPI" as const),
    versions: fc.record({ desired: name, controlPlane: range, workers: range }, { requiredKeys: ["desired"] }),
    steps: fc.array(stepArbitrary, { maxLength: 5 }),
    findings: fc.array(finding, { maxLength: 2 }),
  },
  { requiredKeys: ["name", "wave", "status", "driver", "versions", "steps", "findings"] },
);

const commit = fc.stringMatching(/^[0-9a-f]{40}$/);
const source: fc.Arbitrary<PlanSource> = fc.oneof(
  fc.record({ kind: fc.constant("local" as const), path: name }),
  fc.record({ kind: fc.constant("git" as const), url: name, ref: name, commit }),
);

const planArbitrary: fc.Arbitrary<Plan> = fc
  .record({
    fleet: name,
    source,
    revision: fc.option(commit, { nil: null }),
    generatedAt: fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
    waves: fc.array(fc.record({ name, clusters: fc.array(name, { maxLength: 3 }) }), { maxLength: 3 }),
    clusters: fc.array(cluster, { maxLength: 4 }),
    // Usually consistent with the clusters, sometimes not: a hand-edited plan must still render.
    counts: fc.option(fc.record({ clusters: fc.record({ "in-sync": count, changes: count, blocked: count, unreachable: count, invalid: count }), steps: fc.record({ pending: count, blocked: count, manual: count }) }), { nil: undefined }),
  })
  .map(({ counts, ...plan }) => ({ apiVersion: "bosun.dev/plan/v1" as const, ...plan, summary: counts ?? summarize(plan.clusters) }));

/**
 * A minimal reading of the markdown's block structure: fenced code blocks (opened by three or more
 * backticks, closed by a line of at least as many) and, outside them, `<details>` lines.
 */
function structure(markdown: string): { opened: number; closed: number; openFence: string | undefined } {
  let fence: string | undefined;
  let opened = 0;
  let closed = 0;
  for (const line of markdown.split("\n")) {
    const trimmed = line.trim();
    if (fence !== undefined) {
      if (/^`+$/.test(trimmed) && trimmed.length >= fence.length) fence = undefined;
      continue;
    }
    const open = /^(`{3,})[^`]*$/.exec(trimmed);
    if (open) fence = open[1];
    else if (line === "<details>" || line === "<details open>") opened += 1;
    else if (line === "</details>") closed += 1;
  }
  return { opened, closed, openFence: fence };
}

// A hundred plans per property take about a second; leave room for a busy two-core machine.
const TIMEOUT = 30_000;

describe("renderers on any plan", () => {
  it("renderText never throws, and without colour never writes an escape character", () => {
    fc.assert(
      fc.property(planArbitrary, (plan) => {
        const plain = renderText(plan, { color: false });
        expect(plain).not.toContain("\u001b");
        expect(plain).not.toContain("\u009b");
        expect(plain).not.toContain("\r");
        expect(plain.endsWith("\n")).toBe(true);
        const colored = renderText(plan, { color: true });
        // Colour adds only SGR sequences: stripping them gives the plain text back.
        expect(colored.replace(SGR, "")).toBe(plain);
      }),
    );
  }, TIMEOUT);

  it("renderMarkdown never throws, starts with the marker and keeps within its limit", () => {
    fc.assert(
      fc.property(planArbitrary, fc.integer({ min: 500, max: 20_000 }), (plan, limit) => {
        const markdown = renderMarkdown(plan, { limit });
        expect(markdown.startsWith(`${PLAN_COMMENT_MARKER}\n`)).toBe(true);
        // Every fence closes, and outside fences only bosun's own lines open or close a section.
        const shape = structure(markdown);
        // Over the limit only when the head alone is: then every section is left out.
        if (markdown.length > limit) expect(shape.opened).toBe(0);
        expect(shape.openFence).toBeUndefined();
        expect(shape.closed).toBe(shape.opened);
        expect(shape.opened).toBe(markdown.split("\n").filter((l) => l.startsWith("<summary>")).length);
      }),
    );
  }, TIMEOUT);

  it("renderJson output is read back by readPlan to the same plan and the same text", () => {
    fc.assert(
      fc.property(planArbitrary, (plan) => {
        const text = renderJson(plan);
        const read = readPlan(text, "plan.json");
        expect(read).toEqual(JSON.parse(JSON.stringify(plan)));
        expect(renderJson(read)).toBe(text);
      }),
    );
  }, TIMEOUT);
});
