/**
 * The plan as a pull-request comment (`bosun plan -o markdown`, DESIGN section 1): a hidden marker so CI
 * finds and updates its own comment, a title, the summary table, the waves, and one collapsible section
 * per cluster with its steps, reasons, runbooks and diffs.
 *
 * Everything from the plan is escaped: inline text cannot open HTML or emphasis, and a diff is fenced with
 * more backticks than it contains, so no content can break out of its place. GitHub refuses comments over
 * {@link GITHUB_COMMENT_LIMIT} characters; a longer rendering truncates diffs, largest first, and as a last
 * resort leaves out whole cluster sections from the end — the summary table is never cut.
 */
import type { ClusterPlan, ClusterStatus, Plan, Step } from "../plan/types.js";
import { clusterCountsText, isTrouble, lines, shortRevision, stepCounts, summaryLine, timeText, versionsText, visible } from "./format.js";

/** The first line of every plan comment; a CI job looks for it to update its comment instead of adding one. */
export const PLAN_COMMENT_MARKER = "<!-- bosun-plan -->";

/** GitHub's limit on a comment body, in characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** Options of {@link renderMarkdown}; the defaults are right for GitHub. */
export interface MarkdownOptions {
  /** Longest rendering allowed, in UTF-16 code units (never fewer than GitHub's characters). */
  limit?: number;
}

/** The words a cluster's status shows as in its section's summary line. */
const BADGE: Readonly<Record<ClusterStatus, string>> = {
  "in-sync": "IN SYNC",
  changes: "CHANGES",
  blocked: "BLOCKED",
  unreachable: "UNREACHABLE",
  invalid: "INVALID",
};

/** The label of a cluster's reason. */
const REASON_LABEL: Readonly<Record<ClusterStatus, string>> = {
  "in-sync": "Note",
  changes: "Note",
  blocked: "Blocked",
  unreachable: "Unreachable",
  invalid: "Invalid",
};

/**
 * Renders a plan as a GitHub pull-request comment of at most `options.limit` characters (65536), as long
 * as the part above the cluster sections fits. Pure: the same plan gives the same text.
 */
export function renderMarkdown(plan: Plan, options: MarkdownOptions = {}): string {
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  const head = headOf(plan);
  const full = assemble(head, plan.clusters.map((c) => clusterSection(c, Infinity)), 0);
  if (full.length <= limit) return full;

  // Largest diffs first: find the highest cap on any one diff's length that fits. Every diff longer than
  // the cap is cut to it, so the largest lose the most and small diffs stay whole.
  const fits = (cap: number): string | undefined => {
    const text = assemble(head, plan.clusters.map((c) => clusterSection(c, cap)), 0);
    return text.length <= limit ? text : undefined;
  };
  let best = fits(0);
  if (best !== undefined) {
    let low = 0;
    let high = longestDiff(plan);
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      const text = fits(middle);
      if (text === undefined) {
        high = middle - 1;
      } else {
        low = middle;
        best = text;
      }
    }
    return best;
  }

  // Even without diffs the sections are too long: keep as many whole sections as fit, from the first.
  const sections = plan.clusters.map((c) => clusterSection(c, 0));
  let shown = 0;
  let size = head.length;
  for (const section of sections) {
    const omitted = sections.length - shown - 1;
    const grown = size + 1 + section.length;
    if (grown + (omitted > 0 ? 1 + omittedNote(omitted).length : 0) > limit) break;
    size = grown;
    shown += 1;
  }
  return assemble(head, sections.slice(0, shown), sections.length - shown);
}

function assemble(head: string, sections: readonly string[], omitted: number): string {
  return [head, ...sections, ...(omitted > 0 ? [omittedNote(omitted)] : [])].join("\n");
}

function omittedNote(omitted: number): string {
  return `_${omitted} more cluster section${omitted === 1 ? "" : "s"} left out to stay within GitHub's comment size, see plan.json._\n`;
}

function longestDiff(plan: Plan): number {
  let longest = 0;
  for (const cluster of plan.clusters) {
    for (const step of cluster.steps) for (const diff of diffsOf(step)) longest = Math.max(longest, visible(diff.text).length);
  }
  return longest;
}

// ---- head: marker, title, summary table, waves ---------------------------------------------------------

function headOf(plan: Plan): string {
  const out = [
    PLAN_COMMENT_MARKER,
    `## bosun plan for ${code(plan.fleet)} at ${code(shortRevision(plan))}`,
    "",
    `Generated ${inline(timeText(plan.generatedAt))} from ${plan.source.kind === "git" ? `${code(plan.source.ref)} of ${code(plan.source.url)}` : `the directory ${code(plan.source.path)}`}.`,
    "",
    `**${inline(summaryLine(plan))}**`,
    "",
  ];
  if (plan.clusters.length > 0) {
    out.push("| cluster | wave | status | steps pending/blocked/manual | versions |", "| --- | --- | --- | --- | --- |");
    for (const cluster of plan.clusters) {
      const counts = stepCounts([cluster]);
      const status = isTrouble(cluster.status) ? `**${cluster.status}**` : cluster.status;
      out.push(`| ${cell(cluster.name)} | ${cell(cluster.wave)} | ${status} | ${counts.pending}/${counts.blocked}/${counts.manual} | ${cell(versionsText(cluster))} |`);
    }
    out.push("");
  }
  if (plan.waves.length > 0) {
    out.push("Waves, in rollout order:", "");
    plan.waves.forEach((wave, i) => out.push(`${i + 1}. **${inline(wave.name)}**: ${wave.clusters.map(inline).join(", ")}`));
    out.push("");
  }
  return out.join("\n");
}

// ---- one section per cluster ---------------------------------------------------------------------------

/** A cluster's `<details>` section, each diff cut to at most `cap` characters. */
function clusterSection(cluster: ClusterPlan, cap: number): string {
  const open = isTrouble(cluster.status) ? " open" : "";
  const out = [
    `<details${open}>`,
    `<summary><b>${html(cluster.name)}</b> · ${html(cluster.wave)} · <code>${BADGE[cluster.status]}</code> · ${html(clusterCountsText(cluster))}</summary>`,
    "",
  ];
  if (cluster.reason !== undefined) out.push(...paragraph(`**${REASON_LABEL[cluster.status]}:**`, cluster.reason));
  out.push(`**Versions:** ${inline(versionsText(cluster))}`, "");
  if (cluster.steps.length === 0 && cluster.status === "in-sync") out.push("Nothing to do.", "");
  cluster.steps.forEach((step, i) => out.push(...stepItem(step, i + 1, cap)));
  if (cluster.findings.length > 0) {
    out.push("**Findings:**", "");
    for (const finding of cluster.findings) {
      out.push(`- ${code(finding.kind)}: ${inline(finding.message)}`);
      // A numbered list inside the item: indented to the item's text.
      (finding.runbook ?? []).forEach((instruction, i) => out.push(`  ${i + 1}. ${inline(instruction)}`));
    }
    out.push("");
  }
  out.push("</details>", "");
  return out.join("\n");
}

/** One step as an item of a numbered list; its details are indented to stay inside the item. */
function stepItem(step: Step, number: number, cap: number): string[] {
  const marker = `${number}. `;
  const indent = " ".repeat(marker.length);
  const body: string[] = [];
  if (step.reason !== undefined) body.push(...paragraph(step.state === "blocked" ? "Blocked:" : "Reason:", step.reason));
  if (step.kind === "topology.scale" && step.runbook !== undefined && step.runbook.length > 0) {
    body.push("Runbook:", "");
    step.runbook.forEach((instruction, i) => body.push(`${i + 1}. ${inline(instruction)}`));
    body.push("");
  }
  for (const diff of diffsOf(step)) body.push(`${diff.title}:`, "", ...diffBlock(diff.text, cap));
  const out = [`${marker}**${step.state}** ${code(step.kind)}: ${inline(step.summary)}`, ""];
  for (const line of body) out.push(line === "" ? "" : `${indent}${line}`);
  return out;
}

function diffsOf(step: Step): { title: string; text: string }[] {
  const diffs: { title: string; text: string }[] = [];
  if (step.kind === "addon.upgrade" && step.valuesDiff !== "") diffs.push({ title: "Values diff", text: step.valuesDiff });
  if ("diff" in step && step.diff !== "") diffs.push({ title: step.kind === "backup.schedule" ? "Diff" : "Objects diff", text: step.diff });
  return diffs;
}

/** A fenced diff block, cut at a line boundary to at most `cap` characters with a note when cut. */
function diffBlock(diff: string, cap: number): string[] {
  const all = lines(visible(diff));
  const kept: string[] = [];
  let size = 0;
  for (const line of all) {
    if (size + line.length + 1 > cap) break;
    kept.push(line);
    size += line.length + 1;
  }
  const out = kept.length > 0 ? fenced("diff", kept) : [];
  if (kept.length < all.length) {
    out.push(`_… diff truncated, see plan.json (${kept.length} of ${all.length} lines shown)_`);
  }
  out.push("");
  return out;
}

/** A fenced code block whose fence is longer than any run of backticks in the content, so none closes it. */
function fenced(info: string, content: readonly string[]): string[] {
  const longestRun = Math.max(0, ...content.map((line) => Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length))));
  const fence = "`".repeat(Math.max(3, longestRun + 1));
  return [`${fence}${info}`, ...content, fence];
}

/** `label text` as a paragraph, or, for multi-line text, the label followed by the text in a code block. */
function paragraph(label: string, text: string): string[] {
  const all = lines(visible(text));
  if (all.length === 1) return [`${label} ${inline(text)}`, ""];
  return [label, "", ...fenced("text", all), ""];
}

// ---- escaping ------------------------------------------------------------------------------------------

/**
 * Text from the plan for a Markdown line: backslash-escapes everything that could start emphasis, a link,
 * HTML, a table cell or a strikethrough, and keeps single-backtick code spans (runbooks mark commands with
 * them) as they are, since their content is literal anyway. Newlines become spaces.
 */
function inline(text: string): string {
  const flat = visible(text).replace(/\n/g, " ");
  let out = "";
  let last = 0;
  for (const match of flat.matchAll(/`[^`]+`/g)) {
    out += escapeMarkdown(flat.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return out + escapeMarkdown(flat.slice(last));
}

/** Text for a table cell: no code spans at all, since a `|` would end the cell even inside one. */
function cell(text: string): string {
  return escapeMarkdown(visible(text).replace(/\n/g, " "));
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|~&#!]/g, (c) => `\\${c}`);
}

/** Text as a code span, with a backtick fence longer than any run inside it. */
function code(text: string): string {
  const flat = visible(text).replace(/\n/g, " ");
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** Text for HTML (inside `<summary>`). */
function html(text: string): string {
  return visible(text)
    .replace(/\n/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
