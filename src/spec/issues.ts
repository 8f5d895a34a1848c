/**
 * Spec problems as data. Every problem names the file (relative to the fleet directory), the line and column
 * of the YAML node it is about, and the dot path of that node in its document, so `bosun validate` can print
 * `file:line:col: message (at spec.path)` and an editor can jump to it.
 */

/** Where a spec problem is: a position in one file of the fleet directory. */
export interface SourcePosition {
  /** Path relative to the fleet directory, with `/` separators. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** Dot path of the node inside its YAML document, e.g. `spec.addons[0].helm.chart`; empty for a whole file. */
  path: string;
}

/** One error or warning found in a fleet. */
export interface SpecIssue extends SourcePosition {
  severity: "error" | "warning";
  message: string;
}

/** Formats an issue as `file:line:col: message (at path)`. */
export function formatIssue(issue: SpecIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}${issue.path ? ` (at ${issue.path})` : ""}`;
}

/**
 * Collects issues from every phase of loading. Identical issues are kept once: a mistake in the fleet's
 * defaults is seen again in every cluster it is merged into, but the user should read about it once.
 */
export class IssueCollector {
  private readonly seen = new Set<string>();
  readonly errors: SpecIssue[] = [];
  readonly warnings: SpecIssue[] = [];

  /** Records an error at a position. */
  error(at: SourcePosition, message: string): void {
    this.add({ ...at, severity: "error", message });
  }

  /** Records a warning at a position. */
  warning(at: SourcePosition, message: string): void {
    this.add({ ...at, severity: "warning", message });
  }

  private add(issue: SpecIssue): void {
    const key = `${issue.severity}\u0000${formatIssue(issue)}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    (issue.severity === "error" ? this.errors : this.warnings).push(issue);
  }

  /** Errors and warnings in file, line, column order, so output does not depend on the order of checks. */
  sorted(): { errors: SpecIssue[]; warnings: SpecIssue[] } {
    return { errors: [...this.errors].sort(compareIssues), warnings: [...this.warnings].sort(compareIssues) };
  }
}

/** Orders issues by file, line, column, then message. */
export function compareIssues(a: SpecIssue, b: SpecIssue): number {
  return compareText(a.file, b.file) || a.line - b.line || a.col - b.col || compareText(a.message, b.message);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
