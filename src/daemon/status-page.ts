/**
 * The daemon's status page: server-rendered HTML, one request, no build step, no script and no external
 * asset (inline CSS only, so a strict Content-Security-Policy holds). It refreshes itself every 10 s.
 *
 * Everything shown comes from places bosun does not control — cluster and wave names and spec errors from
 * the fleet repository, error messages and diffs from clusters and tools — so every string goes through
 * {@link html} (the one escaping function of this file) and never reaches the page raw. Pure: the same
 * status gives the same page.
 */
import type { ClusterPlan, ClusterStatus as PlanClusterStatus, Plan } from "../plan/types.js";
import { PLAN_API_VERSION } from "../plan/types.js";
import { CLUSTER_STATUSES, stepCounts, visible, visibleLine } from "../report/format.js";
import { renderText } from "../report/text.js";
import type { ClusterPhase, ClusterStatus, DaemonStatus, WaveStatus } from "./control.js";

/** Seconds between the page's own refreshes. */
export const REFRESH_SECONDS = 10;

/** What the page needs besides the status. */
export interface PageOptions {
  /** The URL the CLI reaches the daemon at, for the approve and pause hints (`http://host:port`). */
  serverUrl: string;
}

/**
 * Escapes text for HTML element content and quoted attribute values. Control characters are made visible
 * first (`\xHH`), so no text can hide itself either.
 */
export function html(text: string): string {
  return visible(text).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** One line of text for HTML (newlines made visible too). */
function line(text: string): string {
  return html(visibleLine(text));
}

/** The badge colour class of each phase. */
const PHASE_CLASS: Readonly<Record<ClusterPhase, "ok" | "warn" | "bad" | "info" | "muted">> = {
  "in-sync": "ok",
  drifted: "warn",
  applying: "info",
  pending: "info",
  deferred: "muted",
  "awaiting-approval": "warn",
  paused: "muted",
  halted: "bad",
  failed: "bad",
  unreachable: "bad",
  blocked: "bad",
  elsewhere: "muted",
  unknown: "muted",
};

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1.5rem;color:#1f2328;background:#f6f8fa}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:#0969da}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0 1rem}
.meta dt{color:#59636e}.meta dd{margin:0}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0;table-layout:fixed}
td:first-child,td:nth-child(2),td:nth-child(8){white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d1d9e0;vertical-align:top;font-size:.9rem}
th{background:#f0f3f6;font-weight:600}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.ok{background:#dafbe1;color:#116329}.warn{background:#fff8c5;color:#7d4e00}.bad{background:#ffebe9;color:#a40e26}
.info{background:#ddf4ff;color:#0550ae}.muted{background:#eff2f5;color:#59636e}
.errors{background:#ffebe9;border:1px solid #ff8182;padding:.5rem 1rem;border-radius:.4rem}
.hint{color:#59636e;font-size:.85rem;margin:.3rem 0}
.error{color:#a40e26;white-space:pre-wrap;max-width:40rem}
pre{background:#fff;border:1px solid #d1d9e0;padding:1rem;overflow-x:auto}
.add{color:#116329}.del{color:#a40e26}
`;

function page(title: string, body: string): string {
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${html(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function badge(phase: ClusterPhase): string {
  return `<span class="badge ${PHASE_CLASS[phase]}" data-phase="${html(phase)}">${html(phase)}</span>`;
}

function short(revision: string | null): string {
  return revision === null ? "—" : html(revision.slice(0, 7));
}

function orDash(text: string | null | undefined): string {
  return text === null || text === undefined || text === "" ? "—" : html(text);
}

/** The status page: the fleet, its source and revisions, then every wave with its clusters. */
export function renderStatusPage(status: DaemonStatus, options: PageOptions): string {
  const title = `bosun — ${status.fleet ?? "fleet not loaded"}`;
  const parts = [`<h1>${html(title)}</h1>`, header(status)];
  if (status.invalidRevision !== null) parts.push(invalidRevision(status.invalidRevision));
  const byName = new Map(status.clusters.map((c) => [c.name, c]));
  for (const wave of status.waves) parts.push(waveSection(wave, byName, status, options));
  // Clusters the waves do not list (a status taken mid-change) are still shown, never dropped.
  const listed = new Set(status.waves.flatMap((w) => w.clusters));
  const others = status.clusters.filter((c) => !listed.has(c.name));
  if (others.length > 0) parts.push(`<h2>Other clusters</h2>`, clusterTable(others));
  if (status.waves.length === 0 && status.clusters.length === 0) parts.push('<p class="hint">No revision has loaded yet: no clusters to show.</p>');
  return page(title, parts.join("\n"));
}

function header(status: DaemonStatus): string {
  const ready = status.ready ? '<span class="badge ok">ready</span>' : `<span class="badge bad">not ready</span> ${orDash(status.notReadyReason)}`;
  const rows: [string, string][] = [
    ["source", `${html(status.source.location)}${status.source.ref === null ? "" : ` (${html(status.source.ref)})`}`],
    ["target revision", `<code>${short(status.targetRevision)}</code>`],
    ["latest revision", `<code>${short(status.latestRevision)}</code>`],
    ["state", ready],
    ["last fetch", `${orDash(status.lastFetchAt)}${status.lastFetchError === null ? "" : ` <span class="error">${html(status.lastFetchError)}</span>`}`],
    ["replica", `${html(status.replica.self)} (${status.replica.replicas.length} replica${status.replica.replicas.length === 1 ? "" : "s"})`],
    ["queue", String(status.queueDepth)],
    ["started", html(status.startedAt)],
  ];
  if (status.rolloutPaused) rows.push(["rollout", '<span class="badge muted">paused in Git (rollout.paused)</span>']);
  return `<dl class="meta">${rows.map(([k, v]) => `<dt>${html(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

function invalidRevision(invalid: NonNullable<DaemonStatus["invalidRevision"]>): string {
  const items = invalid.errors.map((e) => `<li><code>${line(`${e.file}:${e.line}:${e.column}`)}</code>: ${html(e.message)}${e.path === "" ? "" : ` <code>${line(e.path)}</code>`}</li>`);
  return `<div class="errors"><p>Revision <code>${short(invalid.revision)}</code> did not load; the target stays at the last good revision.</p><ul>${items.join("")}</ul></div>`;
}

function waveSection(wave: WaveStatus, byName: Map<string, ClusterStatus>, status: DaemonStatus, options: PageOptions): string {
  const flags = [`<span class="badge muted">${html(wave.apply)}</span>`];
  if (wave.paused !== null) flags.push(`<span class="badge muted">paused by ${html(wave.paused.by)}${wave.paused.reason === undefined ? "" : `: ${html(wave.paused.reason)}`}</span>`);
  if (wave.halted !== null) flags.push(`<span class="badge bad">halted at ${short(wave.halted.revision)}: ${html(wave.halted.cause)}</span>`);
  if (wave.awaitingApproval) flags.push('<span class="badge warn">awaiting approval</span>');
  if (wave.soakUntil !== null) flags.push(`<span class="badge info">soaking until ${html(wave.soakUntil)}</span>`);
  const clusters = wave.clusters.map((name) => byName.get(name) ?? unknownCluster(name, wave.name));
  const hints: string[] = [];
  const server = options.serverUrl;
  if (wave.awaitingApproval && status.targetRevision !== null) {
    hints.push(`approve: <code>bosun approve --server ${html(server)} --wave ${html(shellWord(wave.name))} --revision ${html(status.targetRevision)}</code>`);
  }
  if (wave.paused !== null || wave.halted !== null) hints.push(`resume: <code>bosun resume --server ${html(server)} --wave ${html(shellWord(wave.name))}</code>`);
  else hints.push(`pause: <code>bosun pause --server ${html(server)} --wave ${html(shellWord(wave.name))} --reason …</code>`);
  for (const approval of wave.approvals) hints.push(`approved <code>${short(approval.revision)}</code> by ${html(approval.by)} at ${html(approval.at)}`);
  return [
    `<section data-wave="${html(wave.name)}">`,
    `<h2>wave ${html(wave.name)} ${flags.join(" ")}</h2>`,
    clusterTable(clusters),
    ...hints.map((h) => `<p class="hint">${h}</p>`),
    "</section>",
  ].join("\n");
}

function unknownCluster(name: string, wave: string): ClusterStatus {
  return { name, wave, phase: "unknown", revision: null, pendingSteps: 0, lastError: null, drift: null, nextWindow: null, lastAppliedAt: null, plannedAt: null, owner: null };
}

function clusterTable(clusters: readonly ClusterStatus[]): string {
  const head = ["cluster", "phase", "revision", "pending steps", "last error", "drift", "next window", "owner"].map((h) => `<th>${h}</th>`).join("");
  const rows = clusters.map((c) => {
    const drift = c.drift === null ? "—" : `since ${html(c.drift.detectedAt)}, ${c.drift.steps} step${c.drift.steps === 1 ? "" : "s"}${c.drift.correctedAt === undefined ? "" : `, corrected ${html(c.drift.correctedAt)}`}`;
    return [
      `<tr data-cluster="${html(c.name)}">`,
      `<td><a href="/clusters/${html(encodeURIComponent(c.name))}">${html(c.name)}</a></td>`,
      `<td>${badge(c.phase)}</td>`,
      `<td><code>${short(c.revision)}</code></td>`,
      `<td>${c.pendingSteps}</td>`,
      `<td class="error">${orDash(c.lastError)}</td>`,
      `<td>${drift}</td>`,
      `<td>${orDash(c.nextWindow)}</td>`,
      `<td>${orDash(c.owner)}</td>`,
      "</tr>",
    ].join("");
  });
  // The same column widths in every wave's table, so the page reads as one grid.
  const cols = ["13%", "15%", "8%", "8%", "26%", "14%", "9%", "7%"].map((w) => `<col style="width:${w}">`).join("");
  return `<table><colgroup>${cols}</colgroup><thead><tr>${head}</tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

/** A name as one word of a command line (quoted when it holds anything but safe characters). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._\-/:@]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The page of one cluster: its status, its drift diff and its latest plan as the terminal shows it
 * (`renderText` without colour, then escaped), with diff lines tinted.
 */
export function renderClusterPage(status: DaemonStatus, cluster: ClusterStatus, plan: ClusterPlan | undefined, options: PageOptions): string {
  const title = `bosun — ${cluster.name}`;
  const rows: [string, string][] = [
    ["fleet", orDash(status.fleet)],
    ["wave", html(cluster.wave)],
    ["phase", badge(cluster.phase)],
    ["revision", `<code>${short(cluster.revision)}</code>`],
    ["pending steps", String(cluster.pendingSteps)],
    ["last error", `<span class="error">${orDash(cluster.lastError)}</span>`],
    ["last applied", orDash(cluster.lastAppliedAt)],
    ["planned", orDash(cluster.plannedAt)],
    ["next window", orDash(cluster.nextWindow)],
    ["owner", orDash(cluster.owner)],
  ];
  const parts = [
    `<p><a href="/">← all clusters</a></p>`,
    `<h1>${html(cluster.name)}</h1>`,
    `<dl class="meta">${rows.map(([k, v]) => `<dt>${html(k)}</dt><dd>${v}</dd>`).join("")}</dl>`,
  ];
  const server = html(options.serverUrl);
  const name = html(shellWord(cluster.name));
  parts.push(
    cluster.phase === "paused"
      ? `<p class="hint">resume: <code>bosun resume --server ${server} --cluster ${name}</code></p>`
      : `<p class="hint">pause: <code>bosun pause --server ${server} --cluster ${name} --reason …</code></p>`,
  );
  if (cluster.drift !== null) {
    parts.push(`<h2>Drift since ${html(cluster.drift.detectedAt)} (${cluster.drift.steps} step${cluster.drift.steps === 1 ? "" : "s"})</h2>`, preformatted(cluster.drift.diff));
  }
  parts.push("<h2>Latest plan</h2>");
  parts.push(plan === undefined ? '<p class="hint">Not planned yet since the daemon started.</p>' : preformatted(renderText(onePlan(status, plan), { color: false })));
  return page(title, parts.join("\n"));
}

/** Text in a `<pre>`, each line escaped; diff lines tinted by their first non-blank character. */
function preformatted(text: string): string {
  const out = text.replace(/\n$/, "").split("\n").map((raw) => {
    const escaped = html(raw);
    const lead = raw.trimStart();
    if (lead.startsWith("+") && !lead.startsWith("+++")) return `<span class="add">${escaped}</span>`;
    if (lead.startsWith("-") && !lead.startsWith("---")) return `<span class="del">${escaped}</span>`;
    return escaped;
  });
  return `<pre>${out.join("\n")}</pre>`;
}

/** A plan of one cluster, so the terminal renderer draws it exactly as `bosun plan` would. */
function onePlan(status: DaemonStatus, cluster: ClusterPlan): Plan {
  const counts = Object.fromEntries(CLUSTER_STATUSES.map((s) => [s, s === cluster.status ? 1 : 0])) as Record<PlanClusterStatus, number>;
  const revision = status.targetRevision;
  return {
    apiVersion: PLAN_API_VERSION,
    fleet: status.fleet ?? "",
    source: status.source.ref === null ? { kind: "local", path: status.source.location } : { kind: "git", url: status.source.location, ref: status.source.ref, commit: revision ?? "" },
    revision,
    generatedAt: status.clusters.find((c) => c.name === cluster.name)?.plannedAt ?? status.startedAt,
    waves: [{ name: cluster.wave, clusters: [cluster.name] }],
    clusters: [cluster],
    summary: { clusters: counts, steps: stepCounts([cluster]) },
  };
}

/** A small page for an error (a cluster that does not exist), escaped like every other. */
export function renderErrorPage(title: string, message: string): string {
  return page(title, `<p><a href="/">← all clusters</a></p>\n<h1>${html(title)}</h1>\n<p>${html(message)}</p>`);
}
