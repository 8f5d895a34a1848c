import { describe, expect, it } from "vitest";
import { GITHUB_COMMENT_LIMIT, isPlanComment, neutraliseMentions, planCommentMarker, renderPlanComment } from "../../../src/scm/comment.js";
import { clusterPlan, planBuilder, step } from "../report/builder.js";

/** The body without its fenced code blocks (whose fence is as long as the one opening them). */
function outsideFences(body: string): string {
  return body.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, "");
}

/** A diff of `lines` lines of about 80 characters. */
function bigDiff(lines: number, tag: string): string {
  return Array.from({ length: lines }, (_, i) => `+  ${tag}-${i}: ${"x".repeat(70)}`).join("\n");
}

describe("planCommentMarker", () => {
  it.each([
    ["acme", "<!-- bosun:plan fleet=acme -->"],
    ["fleet-example", "<!-- bosun:plan fleet=fleet-example -->"],
    ["a-->b", "<!-- bosun:plan fleet=a%2D-%3Eb -->"],
    ["x y\n<!--", "<!-- bosun:plan fleet=x%20y%0A%3C!%2D- -->"],
  ])("%j → %s", (fleet, marker) => {
    expect(planCommentMarker(fleet)).toBe(marker);
    expect(planCommentMarker(fleet).slice(4, -3)).not.toContain("--");
  });

  it("recognises only its own fleet's comment", () => {
    const body = renderPlanComment(planBuilder().fleet("acme").build()).body;
    expect(isPlanComment(body, "acme")).toBe(true);
    expect(isPlanComment(body, "acme2")).toBe(false);
    expect(isPlanComment(`quoting it:\n${body}`, "acme")).toBe(false);
    expect(isPlanComment(null, "acme")).toBe(false);
  });
});

describe("renderPlanComment", () => {
  it("starts with the marker and shows every cluster's status, ladder, add-on diffs, backups and blocked reasons", () => {
    const { body, truncated } = renderPlanComment(planBuilder().build());
    expect(truncated).toBe(false);
    expect(body.split("\n")[0]).toBe("<!-- bosun:plan fleet=acme -->");
    expect(body).not.toContain("<!-- bosun-plan -->");
    for (const name of ["canary-1", "staging-eu-1", "prod-eu-1", "prod-us-1"]) expect(body).toContain(`<b>${name}</b>`);
    expect(body).toContain("<code>BLOCKED</code>");
    expect(body).toContain("<code>UNREACHABLE</code>");
    expect(body).toMatch(/`controlPlane\.upgrade`: .*1\.33\.13.*1\.34\.0/);
    expect(body).toMatch(/`controlPlane\.upgrade`: .*1\.34\.0.*1\.35\.4/);
    expect(body).toContain("Values diff:");
    expect(body).toContain("`backup.snapshot`");
    expect(body).toContain("Blocked:");
  });

  it("is deterministic", () => {
    expect(renderPlanComment(planBuilder().build()).body).toBe(renderPlanComment(planBuilder().build()).body);
  });

  it("shortens a huge plan below GitHub's limit, cluster sections kept, with a note and the plan link", () => {
    const clusters = Array.from({ length: 12 }, (_, i) => {
      const name = `big-${i}`;
      return clusterPlan({
        name,
        status: "changes",
        steps: [step.apply(name, "app", { diff: bigDiff(400, name), objects: [{ id: "ConfigMap/app/big", action: "update" }] }), step.schedule(name, { diff: bigDiff(50, `${name}-backup`) })],
      });
    });
    const plan = planBuilder().clusters(...clusters).build();
    const { body, truncated } = renderPlanComment(plan, { planUrl: "https://bosun.example.com/plans/42?fleet=acme" });
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT - 5_000);
    expect(body.split("\n")[0]).toBe("<!-- bosun:plan fleet=acme -->");
    expect(body).toContain("This plan was shortened to fit the 65,536-character comment limit");
    expect(body).toContain("[read the full plan](<https://bosun.example.com/plans/42?fleet=acme>)");
    expect(body).toContain("diff truncated");
    for (const c of clusters) expect(body).toContain(`<b>${c.name}</b>`);
  });

  it("keeps the note and the summary when even the summary table is too long", () => {
    const clusters = Array.from({ length: 3000 }, (_, i) => clusterPlan({ name: `cluster-with-a-long-name-${i}`, status: "changes", steps: [step.apply(`c${i}`, "app")] }));
    const { body, truncated } = renderPlanComment(planBuilder().clusters(...clusters).build());
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body).toContain("3000 clusters");
  });

  it("links a plan URL so that it cannot break out of its link", () => {
    const { body, truncated } = renderPlanComment(planBuilder().build(), { planUrl: "https://x.example/p?q=<b>)\n[y](z)", limit: 4_000 });
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(4_000);
    expect(body).toContain("This plan was shortened to fit the 4,000-character comment limit");
    expect(body).toContain("[read the full plan](<https://x.example/p?q=%3Cb%3E)[y](z)>)");
  });

  it("refuses a plan URL that is not http(s)", () => {
    expect(() => renderPlanComment(planBuilder().build(), { planUrl: "javascript:alert(1)" })).toThrow(/not an http\(s\) URL/);
  });

  it("neutralises a hostile plan: HTML, mentions, links, references and control characters", () => {
    const evil = 'evil <script>alert(1)</script> @org/team @alice [click](https://evil.example) ![x](https://evil.example/p.png) #123 \u001b[31mred\u0007 <img src=x onerror=alert(1)>';
    const plan = planBuilder()
      .clusters(
        clusterPlan({ name: "c<b>@bob", status: "blocked", reason: evil, steps: [step.controlPlane("c", "1.34.0", "1.35.4", ["n1"], { state: "blocked", reason: evil, summary: evil })] }),
        clusterPlan({ name: "multi", status: "invalid", reason: `line one @org/team\n</details><script>x</script>\n\`\`\`\nbreak out` }),
      )
      .build();
    const { body } = renderPlanComment(plan);
    // Fenced blocks are literal text on both hosts; everything else must carry no live HTML.
    const prose = outsideFences(body);
    // A tag in prose is either backslash-escaped (Markdown) or an entity (inside <summary>).
    expect(prose).not.toMatch(/(^|[^\\])<\/?(script|img)/im);
    expect(prose).toContain("\\<script\\>");
    expect(prose).not.toMatch(/<b>c<b>/);
    expect(body).toMatch(/^````text\n[^`]*<\/details><script>x<\/script>\n```\nbreak out\n````$/m);
    // No mention and no issue reference survives directly after its sigil outside code.
    expect(body).not.toMatch(/(^|[^\w`])@(org|alice|bob)/m);
    expect(body).toContain("@\u200Borg/team");
    expect(body).not.toMatch(/(^|[^\\])#123/m);
    expect(body).not.toContain("[click](https://evil.example)");
    expect(body).toContain("\\[click\\]");
    // eslint-disable-next-line no-control-regex -- the point of the test
    expect(body).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(body).toContain("\\x1b");
    // The multi-line reason is fenced: its </details> cannot close the section.
    expect(body.split("\n").filter((l) => l === "</details>")).toHaveLength(2);
  });
});

describe("neutraliseMentions", () => {
  it.each([
    ["@alice", "@\u200Balice"],
    ["ping @org/team now", "ping @\u200Borg/team now"],
    ["fixes #12 and acme/x#3", "fixes #\u200B12 and acme/x#\u200B3"],
    ["user@example.com", "user@\u200Bexample.com"],
    ["1.35.4 → 1.36.0", "1.35.4 → 1.36.0"],
    ["a @ b", "a @ b"],
  ])("%j → %j", (input, output) => {
    expect(neutraliseMentions(input)).toBe(output);
  });
});
