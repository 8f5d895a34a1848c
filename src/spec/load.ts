/**
 * Loading a fleet directory: read → parse (positions kept) → validate each document → written and fleet
 * rules → path containment → merge defaults → merged rules → waves and windows → normalize. The result is
 * a `DesiredFleet` or every error found, never a partly loaded fleet: normalization runs only when no phase
 * reported an error.
 */
import fs from "node:fs/promises";
import { describeYamlProblem, parseSingleYaml, YamlBudget } from "../bounded-yaml.js";
import { InvalidInputError } from "../errors.js";
import type { Alerting, ClusterDocument, FleetDocument, FleetSpec } from "./generated.js";
import { IssueCollector, type SourcePosition, type SpecIssue } from "./issues.js";
import { DEFAULT_LIMITS, yamlLimits, type SpecLimits } from "./limits.js";
import { checkEnvironmentNames, checkFleetEnvironmentNames } from "./environment.js";
import { mergeClusterSpec } from "./merge.js";
import { normalizeCluster, normalizeRepoPath, type ChartMetaByPath } from "./normalize.js";
import { checkKustomization } from "./kustomization.js";
import { DEFAULT_REPO_POLICY, type RepoPolicy } from "./repo-policy.js";
import { checkFleetSpec, checkMergedSpec, checkWrittenSpec, type PathRef, type RuleContext } from "./rules.js";
import { validateDocument, type DocumentKind } from "./schema.js";
import { describeLabels, selectorMatches, selectsEverything } from "./selectors.js";
import { checkTree, FLEET_FILE, readChartMeta, readContained, readSpecFiles, resolveContained, type ChartMeta } from "./tree.js";
import { durationSeconds } from "./duration.js";
import { SPEC_API_VERSION, ALERT_KINDS, LEGACY_ALERT_EVENTS, type AlertKind, type DesiredAlerting, type LegacyAlertEvent, type DesiredCluster, type DesiredFleet, type WindowOperation } from "./types.js";
import { parseSpecFile, SourceMap, type SpecDocument } from "./yaml.js";

/** What loading a fleet gives: the normalized fleet, or every error. Warnings either way. */
export type LoadResult =
  | { ok: true; value: DesiredFleet; warnings: SpecIssue[]; policy: FleetPolicy }
  | { ok: false; errors: SpecIssue[]; warnings: SpecIssue[] };

/**
 * The sections of the Fleet document that are policy rather than desired state: who changes when
 * (rollout, windows), who is told (alerting) and where charts may come from. A pull request's plan takes
 * them from the base branch, so a pull request cannot widen its own rules.
 */
export type FleetPolicy = Pick<FleetSpec, "rollout" | "windows" | "alerting" | "chartRepositories">;

/** Options for `loadFleet`. */
export interface LoadOptions {
  limits?: Partial<SpecLimits>;
  /** What the operator allows the fleet to reference (chart repositories, remote kustomize resources). */
  policy?: RepoPolicy;
  /**
   * The policy sections to use instead of the loaded Fleet document's (a pull request's plan: the base
   * branch's, from its own `loadFleet` result). The document's own sections are still checked.
   */
  basePolicy?: FleetPolicy;
}

/** The Fleet document, and which of its sections passed the schema (the others are left out of later checks). */
interface FleetEntry {
  doc: SpecDocument;
  value: FleetDocument;
  valid: boolean;
  usable: Record<FleetSection, boolean>;
}

type FleetSection = "defaults" | "rollout" | "windows" | "alerting";

interface ClusterEntry {
  doc: SpecDocument;
  value: ClusterDocument;
  nameAt: SourcePosition;
}

const ALL_OPERATIONS: WindowOperation[] = ["upgrade", "addons", "backup"];
/** `alerting.repeatInterval` when the spec sets none. */
export const DEFAULT_REPEAT_INTERVAL = "4h";
/** `alerting.unreachableAfter` when the spec sets none. */
export const DEFAULT_UNREACHABLE_AFTER = "10m";

/**
 * Loads, validates and normalizes the fleet in `dir`. Spec problems are returned, not thrown; only a
 * directory that cannot be read at all throws (InvalidInputError).
 */
export async function loadFleet(dir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const limits: SpecLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const issues = new IssueCollector();
  const sources = new SourceMap();
  const operatorPolicy = options.policy ?? DEFAULT_REPO_POLICY;
  let policy: RepoPolicy = operatorPolicy;
  const ctx: RuleContext = { sources, issues, policy };
  // One budget for every YAML text of this load: spec files, values files and Chart.yaml files.
  const budget = new YamlBudget(limits.maxTotalBytes, limits.maxTotalNodes);

  let tree: Awaited<ReturnType<typeof readSpecFiles>>;
  try {
    tree = await readSpecFiles(dir, limits);
  } catch (error) {
    throw new InvalidInputError(`cannot read fleet directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
  for (const problem of tree.problems) issues.error({ file: problem.file, line: 1, col: 1, path: "" }, problem.message);
  // A refused tree was not read at all: anything said about its (unread) files would only be noise.
  if (tree.refused) return failed(issues);

  const docs = tree.files.flatMap((f) => parseSpecFile(f.file, f.text, limits, sources, issues, budget));
  const { fleet: written, clusters } = classify(docs, tree.problems.some((p) => p.file === FLEET_FILE), sources, issues);
  const fleet = written && options.basePolicy ? withPolicy(written, options.basePolicy) : written;
  // A list that fails the schema fails the load; until then, only a list of strings narrows anything.
  const chartRepositories = fleet?.value.spec.chartRepositories;
  if (Array.isArray(chartRepositories) && chartRepositories.every((r) => typeof r === "string")) {
    policy = { ...operatorPolicy, fleetChartRepos: chartRepositories };
    ctx.policy = policy;
  }

  const refs: PathRef[] = [];
  if (fleet) {
    const specAt = sources.locate(fleet.doc.value, ["spec"]) ?? fleet.doc.at;
    // The written document is checked as written, even where a base branch's policy replaces it.
    checkFleetSpec((written ?? fleet).value.spec, specAt, ctx, (written ?? fleet).usable);
    if (fleet.usable.defaults && fleet.value.spec.defaults) {
      refs.push(...checkWrittenSpec(fleet.value.spec.defaults, specAt, ctx));
      checkEnvironmentNames(fleet.value.spec.defaults, specAt, ctx, policy.allowedSecretEnv, tree.root);
    }
    if ((written ?? fleet).usable.alerting) checkFleetEnvironmentNames((written ?? fleet).value.spec, specAt, ctx, policy.allowedSecretEnv);
  }
  for (const cluster of clusters) {
    const specAt = sources.locate(cluster.doc.value, ["spec"]) ?? cluster.doc.at;
    refs.push(...checkWrittenSpec(cluster.value.spec, specAt, ctx));
    checkEnvironmentNames(cluster.value.spec, specAt, ctx, policy.allowedSecretEnv, tree.root);
  }
  checkDuplicateClusters(clusters, issues);
  const charts = await checkPaths(tree.root, refs, limits, budget, issues, policy);

  // Without usable defaults, merged clusters would report spurious gaps (no version, no provider).
  if (!fleet?.usable.defaults) return failed(issues);
  const merged = clusters.map((cluster) => {
    const spec = mergeClusterSpec(fleet.value.spec.defaults, cluster.value.spec, sources);
    checkMergedSpec(cluster.value.metadata.name, spec, cluster.nameAt, ctx);
    return { cluster, spec };
  });
  const resolved = resolveWaves(fleet, merged, ctx);
  if (issues.errors.length > 0 || !fleet.valid) return failed(issues);

  const desired = merged
    .map(({ cluster, spec }) =>
      normalizeCluster(
        {
          name: cluster.value.metadata.name,
          labels: cluster.value.metadata.labels ?? {},
          origin: { file: cluster.doc.file, line: cluster.nameAt.line },
          wave: resolved.waveOf.get(cluster) ?? "",
          windows: resolved.windowsOf.get(cluster) ?? [],
          waveDrift: fleet.value.spec.rollout?.waves.find((w) => w.name === resolved.waveOf.get(cluster))?.drift?.correct ?? false,
        },
        spec,
        charts,
      ),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const spec = fleet.value.spec;
  const fleetPolicy: FleetPolicy = {
    ...(spec.rollout === undefined ? {} : { rollout: spec.rollout }),
    ...(spec.windows === undefined ? {} : { windows: spec.windows }),
    ...(spec.alerting === undefined ? {} : { alerting: spec.alerting }),
    ...(spec.chartRepositories === undefined ? {} : { chartRepositories: spec.chartRepositories }),
  };
  return { ok: true, value: buildFleet(fleet.value, desired), warnings: issues.sorted().warnings, policy: structuredClone(fleetPolicy) };
}

/**
 * The Fleet document with `base`'s policy sections in place of its own (which were checked as written).
 * The base branch loaded, so its sections are usable.
 */
function withPolicy(fleet: FleetEntry, base: FleetPolicy): FleetEntry {
  const { rollout: _rollout, windows: _windows, alerting: _alerting, chartRepositories: _repos, ...desired } = fleet.value.spec;
  const spec: FleetSpec = { ...desired, ...structuredClone(base) };
  return { ...fleet, value: { ...fleet.value, spec }, usable: { ...fleet.usable, rollout: true, windows: true, alerting: true } };
}

function failed(issues: IssueCollector): LoadResult {
  return { ok: false, ...issues.sorted() };
}

/** Sorts documents into the one Fleet and the Clusters, validating each against its schema. */
function classify(
  docs: SpecDocument[],
  fleetFileMissing: boolean,
  sources: SourceMap,
  issues: IssueCollector,
): { fleet: FleetEntry | undefined; clusters: ClusterEntry[] } {
  let fleet: FleetEntry | undefined;
  let fleetSeen = false;
  const clusters: ClusterEntry[] = [];
  for (const doc of docs) {
    const kind = documentKind(doc, sources, issues);
    if (kind === undefined) continue;
    if (kind === "Fleet") {
      if (doc.file !== FLEET_FILE) {
        issues.error(kindAt(doc, sources), `a Fleet document belongs in ${FLEET_FILE}, not in ${doc.file}`);
        continue;
      }
      if (fleetSeen) {
        issues.error(kindAt(doc, sources), `${FLEET_FILE} holds more than one Fleet document`);
        continue;
      }
      fleetSeen = true;
      fleet = fleetEntry(doc, validateDocument("Fleet", doc, sources, issues));
      continue;
    }
    if (validateDocument("Cluster", doc, sources, issues).length === 0) {
      const value = doc.value as ClusterDocument;
      clusters.push({ doc, value, nameAt: sources.locate(doc.value, ["metadata", "name"]) ?? doc.at });
    }
  }
  if (!fleetSeen && !fleetFileMissing) issues.error({ file: FLEET_FILE, line: 1, col: 1, path: "" }, `${FLEET_FILE} has no Fleet document (kind: Fleet)`);
  return { fleet, clusters };
}

/**
 * A Fleet document whose spec is a map, with each section marked usable when no schema error lies inside
 * it: a typo in a window must not hide the errors that merging the (valid) defaults would reveal.
 */
function fleetEntry(doc: SpecDocument, errorPaths: readonly string[]): FleetEntry | undefined {
  const value = doc.value as FleetDocument;
  const spec: unknown = value.spec;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return undefined;
  const clean = (section: FleetSection): boolean => errorPaths.every((p) => p !== `/spec/${section}` && !p.startsWith(`/spec/${section}/`));
  return {
    doc,
    value,
    valid: errorPaths.length === 0,
    usable: { defaults: clean("defaults"), rollout: clean("rollout"), windows: clean("windows"), alerting: clean("alerting") },
  };
}

function kindAt(doc: SpecDocument, sources: SourceMap): SourcePosition {
  return sources.locate(doc.value, ["kind"]) ?? doc.at;
}

function documentKind(doc: SpecDocument, sources: SourceMap, issues: IssueCollector): DocumentKind | undefined {
  const value = doc.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    issues.error(doc.at, "a spec document must be a map with apiVersion, kind, metadata and spec");
    return undefined;
  }
  const kind = (value as Record<string, unknown>).kind;
  if (kind === "Fleet" || kind === "Cluster") return kind;
  issues.error(
    kind === undefined ? doc.at : { ...kindAt(doc, sources), path: "kind" },
    kind === undefined ? "missing required field \"kind\" (Fleet or Cluster)" : `unknown kind ${JSON.stringify(kind)}: expected Fleet or Cluster`,
  );
  return undefined;
}

function checkDuplicateClusters(clusters: readonly ClusterEntry[], issues: IssueCollector): void {
  const first = new Map<string, ClusterEntry>();
  for (const cluster of clusters) {
    const name = cluster.value.metadata.name;
    const earlier = first.get(name);
    if (earlier) issues.error(cluster.nameAt, `cluster "${name}" is defined twice (first in ${earlier.doc.file}:${earlier.nameAt.line})`);
    else first.set(name, cluster);
  }
}

/** Checks every path the spec names; returns Chart.yaml facts of the local charts. */
async function checkPaths(root: string, refs: readonly PathRef[], limits: SpecLimits, budget: YamlBudget, issues: IssueCollector, policy: RepoPolicy): Promise<ChartMetaByPath> {
  const charts = new Map<string, ChartMeta>();
  const unique = new Map<string, PathRef[]>();
  for (const ref of refs) {
    const key = `${ref.kind}\u0000${ref.written}`;
    const group = unique.get(key);
    if (group) group.push(ref);
    else unique.set(key, [ref]);
  }
  await Promise.all(
    [...unique.values()].map(async (group) => {
      const ref = group[0];
      if (!ref) return;
      const problems = await checkPath(root, ref, limits, budget, charts);
      // The content of a kustomization that passed the path check: every file and base it names, below.
      if (ref.kind === "kustomization" && problems.length === 0) await checkKustomization(root, ref.written, ref.at, { limits, policy, issues });
      for (const each of group) {
        for (const problem of problems) issues.error(each.at, problem);
        const meta = charts.get(normalizeRepoPath(each.written));
        if (each.kind === "chart" && each.version !== undefined && meta?.version && meta.version !== each.version) {
          issues.error(each.at, `version ${each.version} does not match the local chart's Chart.yaml version ${meta.version}`);
        }
      }
    }),
  );
  return charts;
}

async function checkPath(root: string, ref: PathRef, limits: SpecLimits, budget: YamlBudget, charts: Map<string, ChartMeta>): Promise<string[]> {
  if (ref.kind === "values") {
    const read = await readContained(root, ref.written, limits.maxFileBytes);
    if ("problem" in read) return [`values file ${read.problem}`];
    const parsed = parseSingleYaml(read.text, { limits: yamlLimits(limits), budget });
    if (!parsed.ok) return [`values file "${ref.written}" is not valid YAML: ${describeYamlProblem(parsed.problem)}`];
    const value = parsed.value;
    if (value !== undefined && value !== null && (typeof value !== "object" || Array.isArray(value))) return [`values file "${ref.written}" must hold a map of values`];
    return [];
  }
  if (ref.kind === "script") {
    const read = await readContained(root, ref.written, limits.maxFileBytes);
    if ("problem" in read) return [`upgrade script ${read.problem}`];
    if (read.text.trim() === "") return [`upgrade script "${ref.written}" is empty`];
    return [];
  }
  const what = ref.kind === "chart" ? "local chart" : "kustomize path";
  const resolved = await resolveContained(root, ref.written);
  if (!resolved.ok) return [`${what} ${resolved.problem}`];
  if (resolved.kind !== "directory") return [`${what} "${ref.written}" is a file; name its directory`];
  // The whole tree first: nothing in it (Chart.yaml included) is read before it is known to be safe.
  const tree = await checkTree(root, resolved.real, limits.maxTreeEntries);
  if (tree.overLimit) return [`${what} "${ref.written}" holds more than ${limits.maxTreeEntries} files and directories; bosun refuses larger trees`];
  const problems: string[] = [];
  if (tree.escapes.length > 0) problems.push(`${what} "${ref.written}" holds a symlink to a place outside the fleet directory: ${tree.escapes.slice(0, 3).join(", ")}`);
  if (tree.special.length > 0) problems.push(`${what} "${ref.written}" holds something that is not a regular file or directory (a named pipe, socket or device): ${tree.special.slice(0, 3).join(", ")}`);
  if (problems.length > 0) return problems;
  if (ref.kind === "chart") {
    const meta = await readChartMeta(root, normalizeRepoPath(ref.written), limits, budget);
    if (meta.problem) problems.push(`local chart "${ref.written}" ${meta.problem}`);
    charts.set(normalizeRepoPath(ref.written), { name: meta.name, version: meta.version });
  } else {
    const found = await Promise.all(
      ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((name) => resolveContained(root, `${normalizeRepoPath(ref.written)}/${name}`)),
    );
    if (!found.some((r) => r.ok)) problems.push(`kustomize path "${ref.written}" has no kustomization.yaml`);
  }
  return problems;
}

interface Resolution {
  waveOf: Map<ClusterEntry, string>;
  windowsOf: Map<ClusterEntry, string[]>;
}

/** Puts each cluster in the first wave whose selector matches it, and finds the windows that apply to it. */
function resolveWaves(
  fleet: FleetEntry,
  merged: readonly { cluster: ClusterEntry }[],
  ctx: RuleContext,
): Resolution {
  const waveOf = new Map<ClusterEntry, string>();
  const windowsOf = new Map<ClusterEntry, string[]>();
  // An invalid rollout or window list is already reported; resolving against it would only add noise.
  if (!fleet.usable.rollout) return { waveOf, windowsOf };
  const waves = fleet.value.spec.rollout?.waves;
  const used = new Set<string>();
  for (const { cluster } of merged) {
    const labels = cluster.value.metadata.labels ?? {};
    if (waves === undefined) waveOf.set(cluster, "default");
    else {
      const wave = waves.find((w) => selectorMatches(w.selector, labels));
      if (wave) {
        waveOf.set(cluster, wave.name);
        used.add(wave.name);
      } else {
        ctx.issues.error(
          cluster.nameAt,
          `cluster "${cluster.value.metadata.name}" (${describeLabels(labels)}) is in no rollout wave: give it labels a wave selects, or add a last wave with selector: {}`,
        );
      }
    }
    if (fleet.usable.windows) windowsOf.set(cluster, (fleet.value.spec.windows ?? []).filter((w) => selectorMatches(w.selector, labels)).map((w) => w.name));
  }
  const written = waves ?? [];
  written.forEach((wave, i) => {
    if (used.has(wave.name)) return;
    const at = ctx.sources.locate(fleet.doc.value, ["spec", "rollout", "waves", i, "name"]) ?? fleet.doc.at;
    const earlier = written.slice(0, i).find((w) => selectsEverything(w.selector));
    ctx.issues.warning(at, earlier ? `wave "${wave.name}" can never have clusters: wave "${earlier.name}" before it selects every cluster` : `wave "${wave.name}" selects no cluster`);
  });
  return { waveOf, windowsOf };
}

function buildFleet(fleet: FleetDocument, clusters: DesiredCluster[]): DesiredFleet {
  const spec = fleet.spec;
  const writtenWaves = spec.rollout?.waves ?? [{ name: "default", selector: {} }];
  const inWave = (name: string): string[] => clusters.filter((c) => c.wave === name).map((c) => c.name);
  return {
    apiVersion: SPEC_API_VERSION,
    name: fleet.metadata.name,
    waves: writtenWaves.map((w) => ({
      name: w.name,
      maxConcurrent: w.maxConcurrent ?? 1,
      soakSeconds: durationSeconds(w.soak ?? "0s"),
      continueOnSkip: w.continueOnSkip ?? false,
      apply: w.apply ?? "auto",
      clusters: inWave(w.name),
    })),
    paused: spec.rollout?.paused ?? false,
    windows: (spec.windows ?? []).map((w) => ({
      name: w.name,
      kind: w.kind,
      schedule: w.schedule,
      durationSeconds: durationSeconds(w.duration),
      timeZone: new Intl.DateTimeFormat("en-US", { timeZone: w.timeZone }).resolvedOptions().timeZone,
      operations: w.operations ?? ALL_OPERATIONS,
      clusters: clusters.filter((c) => c.windows.includes(w.name)).map((c) => c.name),
    })),
    alerting: normalizeAlerting(spec.alerting),
    clusters,
  };
}

/** `spec.alerting` normalized: the first form's webhooks become generic webhook receivers with today's events. */
function normalizeAlerting(alerting: Alerting | undefined): DesiredAlerting {
  const legacy = (alerting?.webhooks ?? []).map((h) => ({
    name: h.name,
    type: "webhook" as const,
    urlFromEnv: h.urlFromEnv,
    events: h.events === undefined ? [...ALERT_KINDS] : inKindOrder(h.events.flatMap((e: LegacyAlertEvent) => LEGACY_ALERT_EVENTS[e])),
  }));
  const receivers = (alerting?.receivers ?? []).map((r) => ({
    name: r.name,
    type: r.type,
    urlFromEnv: r.urlFromEnv,
    ...(r.secretFromEnv === undefined ? {} : { secretFromEnv: r.secretFromEnv }),
    events: r.events === undefined ? [...ALERT_KINDS] : inKindOrder(r.events),
  }));
  return {
    receivers: [...legacy, ...receivers],
    repeatIntervalSeconds: durationSeconds(alerting?.repeatInterval ?? DEFAULT_REPEAT_INTERVAL),
    unreachableAfterSeconds: durationSeconds(alerting?.unreachableAfter ?? DEFAULT_UNREACHABLE_AFTER),
  };
}

function inKindOrder(events: readonly AlertKind[]): AlertKind[] {
  return ALERT_KINDS.filter((kind) => events.includes(kind));
}

/** Reads a fleet directory's existence for callers that want a usage error rather than a spec error. */
export async function isDirectory(dir: string): Promise<boolean> {
  return fs.stat(dir).then((s) => s.isDirectory(), () => false);
}
