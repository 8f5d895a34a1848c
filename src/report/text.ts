/**
 * The plan for a terminal (`bosun plan`, the default output): a header, one block per cluster in plan
 * order with its steps in aligned columns, and a one-line summary. Colour is the caller's decision (a TTY
 * and no NO_COLOR); with `color: false` the output has no escape codes at all, and plan content can never
 * smuggle one in (see `visible`).
 */
import { styleText } from "node:util";
import type { ClusterPlan, ClusterStatus, Plan, Step, StepState } from "../plan/types.js";
import { lines, shortRevision, sourceText, summaryLine, timeText, versionsText, visible } from "./format.js";

/** Options of {@link renderText}. */
export interface TextOptions {
  /** Colour statuses, states and diff lines with ANSI escapes. */
  color: boolean;
}

type Format = Parameters<typeof styleText>[0];

/** Applies styles only when colour is on. */
type Paint = (format: Format, text: string) => string;

function painter(color: boolean): Paint {
  // validateStream: false — whether to colour is decided by the caller; styleText would otherwise look at
  // process.stdout itself (Node ≥ 22) and make the output depend on where the process writes.
  return color ? (format, text) => (text === "" ? text : styleText(format, text, { validateStream: false })) : (_format, text) => text;
}

const STATUS_COLOR: Readonly<Record<ClusterStatus, Format>> = {
  "in-sync": "green",
  changes: "yellow",
  blocked: "red",
  unreachable: "red",
  invalid: "red",
};

const STATE_COLOR: Readonly<Record<StepState, Format | undefined>> = {
  pending: undefined,
  blocked: "red",
  manual: "magenta",
};

/** The label of a finding's row, in the state column. */
const FINDING = "finding";

/** Column widths, shared by every cluster so the whole plan lines up. */
interface Columns {
  state: number;
  kind: number;
}

/** Renders a plan for a terminal. Pure: the same plan and options give the same text. */
export function renderText(plan: Plan, options: TextOptions): string {
  const paint = painter(options.color);
  const columns = columnsOf(plan.clusters);
  const out: string[] = [header(plan, paint), ""];
  for (const cluster of plan.clusters) out.push(...clusterBlock(cluster, columns, paint), "");
  out.push(paint("bold", summaryLine(plan)));
  return `${out.map((line) => line.trimEnd()).join("\n")}\n`;
}

function header(plan: Plan, paint: Paint): string {
  return `bosun plan for fleet ${paint("bold", visible(plan.fleet))}, revision ${visible(shortRevision(plan))} (${visible(sourceText(plan))}), generated ${visible(timeText(plan.generatedAt))}`;
}

function columnsOf(clusters: readonly ClusterPlan[]): Columns {
  let state = 0;
  let kind = 0;
  for (const cluster of clusters) {
    for (const step of cluster.steps) {
      state = Math.max(state, step.state.length);
      kind = Math.max(kind, step.kind.length);
    }
    for (const finding of cluster.findings) {
      state = Math.max(state, FINDING.length);
      kind = Math.max(kind, finding.kind.length);
    }
  }
  return { state, kind };
}

/** Label column of a cluster's own lines ("reason", "versions"). */
const LABEL_WIDTH = "versions".length;

function clusterBlock(cluster: ClusterPlan, columns: Columns, paint: Paint): string[] {
  const out = [`${paint("bold", visible(cluster.name))}  wave ${visible(cluster.wave)}  ${paint(STATUS_COLOR[cluster.status], cluster.status)}`];
  if (cluster.reason !== undefined) out.push(...labelled("reason", cluster.reason));
  out.push(...labelled("versions", versionsText(cluster)));
  for (const step of cluster.steps) out.push(...stepBlock(step, columns, paint));
  for (const finding of cluster.findings) {
    out.push(...hanging(row(columns, paint("yellow", FINDING), FINDING.length, finding.kind), rowWidth(columns), finding.message));
    out.push(...runbookBlock(finding.runbook, " ".repeat(2 + columns.state + 2)));
  }
  return out;
}

/** `  label     text`, continuation lines of a multi-line text indented to the text. */
function labelled(label: string, text: string): string[] {
  const prefix = `  ${label.padEnd(LABEL_WIDTH)}  `;
  return hanging(prefix, prefix.length, text);
}

/** The first line of `text` after `prefix`, every further line indented by `indent` spaces. */
function hanging(prefix: string, indent: number, text: string): string[] {
  const [first = "", ...rest] = lines(visible(text));
  return [`${prefix}${first}`, ...rest.map((line) => `${" ".repeat(indent)}${line}`)];
}

/** The state and kind cells of a row; `label` may be painted, so its printed width is passed in. */
function row(columns: Columns, label: string, labelWidth: number, kind: string): string {
  return `  ${label}${" ".repeat(columns.state - labelWidth)}  ${kind.padEnd(columns.kind)}  `;
}

/** Printed width of {@link row}: where the summary column starts. */
function rowWidth(columns: Columns): number {
  return 2 + columns.state + 2 + columns.kind + 2;
}

function stepBlock(step: Step, columns: Columns, paint: Paint): string[] {
  const stateColor = STATE_COLOR[step.state];
  const state = stateColor === undefined ? step.state : paint(stateColor, step.state);
  const out = hanging(row(columns, state, step.state.length, step.kind), rowWidth(columns), step.summary);
  // Details hang under the kind column, so the state column stays a clean scan line.
  const indent = " ".repeat(2 + columns.state + 2);
  if (step.reason !== undefined) {
    const label = step.state === "blocked" ? "blocked: " : "reason: ";
    out.push(...hanging(`${indent}${paint("red", label.trimEnd())} `, indent.length + label.length, step.reason));
  }
  if (step.kind === "topology.scale") out.push(...runbookBlock(step.runbook, indent));
  if (step.kind === "addon.upgrade" && step.valuesDiff !== "") out.push(...diffBlock("values diff:", step.valuesDiff, indent, paint));
  if ("diff" in step && step.diff !== "") out.push(...diffBlock(step.kind === "backup.schedule" ? "diff:" : "objects diff:", step.diff, indent, paint));
  return out;
}

/** A runbook's numbered instructions under `indent`; nothing for none. */
function runbookBlock(runbook: readonly string[] | undefined, indent: string): string[] {
  if (runbook === undefined || runbook.length === 0) return [];
  const out = [`${indent}runbook:`];
  runbook.forEach((instruction, i) => {
    const number = `${i + 1}. `;
    out.push(...hanging(`${indent}  ${number}`, indent.length + 2 + number.length, instruction));
  });
  return out;
}

function diffBlock(title: string, diff: string, indent: string, paint: Paint): string[] {
  return [`${indent}${title}`, ...collapseNewObjects(lines(visible(diff))).map((line) => `${indent}  ${diffLine(line, paint)}`)];
}

/**
 * A terminal shows changes in full, but an object that does not exist yet as one line: its whole manifest
 * would bury the changes (`-o markdown` and `-o json` keep every line).
 */
function collapseNewObjects(diff: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < diff.length; i += 1) {
    const line = diff[i] ?? "";
    const next = diff[i + 1] ?? "";
    if (line === "--- /dev/null" && next.startsWith("+++ desired/")) {
      let added = 0;
      let j = i + 2;
      while (j < diff.length && !(diff[j] ?? "").startsWith("--- ")) {
        if ((diff[j] ?? "").startsWith("+")) added += 1;
        j += 1;
      }
      out.push(`+ ${next.slice("+++ desired/".length)} (new, ${added} lines)`);
      i = j - 1;
      continue;
    }
    out.push(line);
  }
  return out;
}

function diffLine(raw: string, paint: Paint): string {
  // Trailing blanks go before painting, so the coloured text is the plain text plus escapes.
  const line = raw.trimEnd();
  if (line.startsWith("+++") || line.startsWith("---")) return paint("bold", line);
  if (line.startsWith("+")) return paint("green", line);
  if (line.startsWith("-")) return paint("red", line);
  if (line.startsWith("@@")) return paint("cyan", line);
  return line;
}
