/**
 * The pull-request comment: golden file, marker, sections open where attention is needed, content that
 * cannot break out of its fence or inject HTML, and GitHub's size limit (diffs cut largest first, the
 * summary table never).
 */
import { describe, expect, it } from "vitest";
import type { ClusterPlan, Plan } from "../../../src/plan/types.js";
import { GITHUB_COMMENT_LIMIT, PLAN_COMMENT_MARKER, renderMarkdown } from "../../../src/report/markdown.js";
import { clusterPlan, everyKindCluster, planBuilder, step } from "./builder.js";
import { expectGolden } from "./golden.js";

/** A unified diff of about `size` characters whose lines are all distinct. */
function bigDiff(name: string, size: number): string {
  const lines = [`--- live/ConfigMap/${name}`, `+++ desired/ConfigMap/${name}`, "@@ -1 +1 @@"];
  for (let i = 0; lines.join("\n").length < size; i += 1) lines.push(`+  ${name}-key-${String(i).padStart(6, "0")}: ${"v".repeat(40)}`);
  return `${lines.join("\n")}\n`;
}

function applyCluster(name: string, diff: string): ClusterPlan {
  return clusterPlan({ name, wave: "staging", status: "changes", steps: [step.apply(name, "app", { diff })] });
}

/** The summary table's rows. */
function tableRows(markdown: string): string[] {
  return markdown.split("\n").filter((line) => line.startsWith("| "));
}

describe("renderMarkdown", () => {
  it("matches the golden plan.md", async () => {
    await expectGolden("plan.md", renderMarkdown(planBuilder().build()));
  });

  it("matches the golden plan-every-kind.md (every step kind, a local fleet)", async () => {
    await expectGolden("plan-every-kind.md", renderMarkdown(planBuilder().local().clusters(everyKindCluster()).build()));
  });

  it("starts with the hidden marker, then the title with the fleet and the short revision", () => {
    const lines = renderMarkdown(planBuilder().build()).split("\n");
    expect(lines[0]).toBe(PLAN_COMMENT_MARKER);
    expect(PLAN_COMMENT_MARKER).toBe("<!-- bosun-plan -->");
    expect(lines[1]).toBe("## bosun plan for `acme` at `3f2a9c1`");
    expect(renderMarkdown(planBuilder().local().build()).split("\n")[1]).toBe("## bosun plan for `acme` at `local`");
  });

  it("has a summary table with one row per cluster and the step counts", () => {
    expect(tableRows(renderMarkdown(planBuilder().build()))).toEqual([
      "| cluster | wave | status | steps pending/blocked/manual | versions |",
      "| --- | --- | --- | --- | --- |",
      "| canary-1 | canary | in-sync | 0/0/0 | control plane 1.35.4, workers 1.35.4 |",
      "| staging-eu-1 | staging | changes | 7/0/0 | control plane 1.33.13 → 1.35.4, workers 1.33.13..1.34.4 → 1.35.4 |",
      "| prod-eu-1 | production | **blocked** | 0/1/1 | control plane 1.35.4, workers 1.35.4 |",
      "| prod-us-1 | production | **unreachable** | 0/0/0 | 1.35.4 desired, not observed |",
    ]);
  });

  it("opens the sections of blocked, unreachable and invalid clusters only", () => {
    const plan = planBuilder().cluster(clusterPlan({ name: "bad", wave: "production", status: "invalid", reason: "wrong driver" })).build();
    const opened = renderMarkdown(plan)
      .split("\n")
      .filter((line) => line.startsWith("<details"))
      .map((line) => line === "<details open>");
    expect(opened).toEqual([false, false, true, true, true]);
  });

  it("fences a diff that contains ``` with a longer fence", () => {
    const diff = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n ```\n-````yaml\n+`````\n ```\n";
    const markdown = renderMarkdown(planBuilder().clusters(applyCluster("x", diff)).build());
    const lines = markdown.split("\n");
    const open = lines.findIndex((line) => line.trim() === "``````diff");
    expect(open).toBeGreaterThan(0);
    const close = lines.findIndex((line, i) => i > open && line.trim() === "``````");
    expect(lines.slice(open + 1, close).map((l) => l.trim())).toEqual(["--- a", "+++ b", "@@ -1,3 +1,3 @@", "```", "-````yaml", "+`````", "```"]);
    expect(lines.slice(close + 1).join("\n")).toContain("</details>");
  });

  it("escapes text so it cannot open HTML, emphasis or a table cell", () => {
    const plan = planBuilder()
      .clusters(
        clusterPlan({
          name: "x",
          status: "blocked",
          reason: "</details><script>alert(1)</script> *bold* | pipe [link](http://x)",
          steps: [step.snapshot("x", "1.35.4", { state: "blocked", reason: "a | b", summary: "<b>loud</b> _x_ `kept <code>`" })],
        }),
      )
      .build();
    const markdown = renderMarkdown(plan);
    expect(markdown.match(/<\/details>/g)).toHaveLength(1);
    expect(markdown).not.toContain("<script>");
    expect(markdown).toContain("**Blocked:** \\</details\\>\\<script\\>alert(1)\\</script\\> \\*bold\\* \\| pipe \\[link\\](http://x)");
    // Code spans stay literal; the rest is escaped.
    expect(markdown).toContain("`backup.snapshot`: \\<b\\>loud\\</b\\> \\_x\\_ `kept <code>`");
  });

  it("escapes HTML in the <summary> line", () => {
    const plan = planBuilder().clusters(clusterPlan({ name: "a<b>&c", wave: "w<i>" })).build();
    expect(renderMarkdown(plan)).toContain("<summary><b>a&lt;b&gt;&amp;c</b> · w&lt;i&gt; · <code>IN SYNC</code> · no steps</summary>");
  });

  it("leaves a plan within the limit untouched", () => {
    const markdown = renderMarkdown(planBuilder().build());
    expect(markdown.length).toBeLessThan(GITHUB_COMMENT_LIMIT);
    expect(markdown).not.toContain("diff truncated");
  });

  describe("over GitHub's 65536 characters", () => {
    const huge = bigDiff("huge", 80_000);
    const large = bigDiff("large", 20_000);
    const small = bigDiff("small", 1_000);
    const plan = (): Plan =>
      planBuilder().cluster(applyCluster("huge-1", huge)).cluster(applyCluster("large-1", large)).cluster(applyCluster("small-1", small)).build();

    it("truncates the largest diffs first and keeps the smaller ones whole", () => {
      const full = renderMarkdown(plan(), { limit: Number.MAX_SAFE_INTEGER });
      expect(full.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
      const markdown = renderMarkdown(plan());
      expect(markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      // Close to the limit: truncation takes no more than it has to.
      expect(markdown.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT - 200);
      expect(markdown.match(/diff truncated, see plan\.json/g)).toHaveLength(1);
      expect(markdown).toMatch(/_… diff truncated, see plan\.json \(\d+ of \d+ lines shown\)_/);
      for (const kept of [large, small, "+  replicaCount: 3"]) {
        expect(markdown).toContain(kept.trimEnd().split("\n").map((line) => `   ${line}`).join("\n"));
      }
      expect(markdown).toContain("huge-key-000000");
      expect(markdown).not.toContain(huge.trimEnd().split("\n").at(-1));
    });

    it("never cuts the summary table, the waves or the sections", () => {
      const full = renderMarkdown(plan(), { limit: Number.MAX_SAFE_INTEGER });
      const markdown = renderMarkdown(plan());
      expect(tableRows(markdown)).toEqual(tableRows(full));
      expect(tableRows(markdown)).toHaveLength(2 + 7);
      expect(markdown.match(/<details/g)).toHaveLength(7);
      expect(markdown.startsWith(PLAN_COMMENT_MARKER)).toBe(true);
    });

    it("leaves out whole cluster sections from the end when even without diffs it is too long", () => {
      const markdown = renderMarkdown(plan(), { limit: 4_000 });
      expect(markdown.length).toBeLessThanOrEqual(4_000);
      expect(tableRows(markdown)).toHaveLength(2 + 7);
      const sections = markdown.match(/<details/g)?.length ?? 0;
      expect(sections).toBeGreaterThan(0);
      expect(sections).toBeLessThan(7);
      expect(markdown).toContain(`_${7 - sections} more cluster sections left out to stay within GitHub's comment size, see plan.json._`);
    });

    it("keeps the head even when it alone is over the limit", () => {
      const markdown = renderMarkdown(plan(), { limit: 100 });
      expect(tableRows(markdown)).toHaveLength(2 + 7);
      expect(markdown).not.toContain("<details");
    });
  });
});
