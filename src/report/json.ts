/**
 * The plan as JSON: what `bosun plan -o json` prints, what `--out` writes and what `bosun apply --plan`
 * reads back. `renderJson` is stable — keys in a fixed order, whatever order the plan object was built
 * in — so two plans of the same fleet diff line by line. `readPlan` checks the `apiVersion` and validates
 * against `schemas/plan.schema.json` before anything trusts the file.
 */
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { InvalidInputError } from "../errors.js";
import {
  PLAN_API_VERSION,
  type ClusterPlan,
  type Finding,
  type ObjectSummary,
  type Plan,
  type PlanSource,
  type Step,
  type VersionRange,
  type VersionSource,
} from "../plan/types.js";
import { CLUSTER_STATUSES, STEP_STATES, visibleJson } from "./format.js";

/**
 * Renders a plan as JSON: 2-space indent, a trailing newline, and keys in the order `src/plan/types.ts`
 * declares them — except that every step starts with `id` and `kind`, then its common fields, then the
 * fields of its kind — with optional fields that are absent left out.
 */
export function renderJson(plan: Plan): string {
  // Printed to terminals too (`-o json`): no raw DEL or C1 control from plan content (see visibleJson).
  return `${visibleJson(JSON.stringify(canonicalPlan(plan), null, 2))}\n`;
}

// ---- canonical key order -------------------------------------------------------------------------------
// Each function rebuilds its object with keys inserted in the fixed order (JSON.stringify keeps insertion
// order) and drops anything the type does not declare. A test checks these orders against the schema's.

function canonicalPlan(plan: Plan): Plan {
  return {
    apiVersion: plan.apiVersion,
    fleet: plan.fleet,
    source: canonicalSource(plan.source),
    revision: plan.revision,
    generatedAt: plan.generatedAt,
    waves: plan.waves.map((wave) => ({ name: wave.name, clusters: [...wave.clusters] })),
    clusters: plan.clusters.map(canonicalCluster),
    summary: {
      clusters: Object.fromEntries(CLUSTER_STATUSES.map((status) => [status, plan.summary.clusters[status]])) as Plan["summary"]["clusters"],
      steps: Object.fromEntries(STEP_STATES.map((state) => [state, plan.summary.steps[state]])) as Plan["summary"]["steps"],
    },
  };
}

function canonicalSource(source: PlanSource): PlanSource {
  return source.kind === "local"
    ? { kind: source.kind, path: source.path }
    : { kind: source.kind, url: source.url, ref: source.ref, commit: source.commit };
}

function canonicalCluster(cluster: ClusterPlan): ClusterPlan {
  const { desired, controlPlane, workers } = cluster.versions;
  return {
    name: cluster.name,
    wave: cluster.wave,
    status: cluster.status,
    ...(cluster.reason === undefined ? {} : { reason: cluster.reason }),
    driver: cluster.driver,
    versions: {
      desired,
      ...(controlPlane === undefined ? {} : { controlPlane: canonicalRange(controlPlane) }),
      ...(workers === undefined ? {} : { workers: canonicalRange(workers) }),
    },
    steps: cluster.steps.map(canonicalStep),
    findings: cluster.findings.map(
      (finding): Finding => ({ kind: finding.kind, message: finding.message, ...(finding.runbook === undefined ? {} : { runbook: [...finding.runbook] }) }),
    ),
  };
}

function canonicalRange(range: VersionRange): VersionRange {
  return { oldest: range.oldest, newest: range.newest };
}

function canonicalObjects(objects: readonly ObjectSummary[]): ObjectSummary[] {
  return objects.map((object) => ({ id: object.id, action: object.action }));
}

function sourceOf(step: { versionSource?: VersionSource }): { versionSource?: VersionSource } {
  return step.versionSource === undefined ? {} : { versionSource: step.versionSource };
}

function canonicalStep(step: Step): Step {
  const base = {
    id: step.id,
    kind: step.kind,
    state: step.state,
    summary: step.summary,
    ...(step.reason === undefined ? {} : { reason: step.reason }),
  };
  switch (step.kind) {
    case "backup.snapshot":
      return { ...base, kind: step.kind };
    case "controlPlane.upgrade":
      return { ...base, kind: step.kind, from: step.from, to: step.to, ...sourceOf(step), targets: [...step.targets] };
    case "workers.upgrade":
      return { ...base, kind: step.kind, from: step.from, to: step.to, ...sourceOf(step), targets: [...step.targets], batchSize: step.batchSize };
    case "topology.scale":
      return { ...base, kind: step.kind, from: step.from, to: step.to, ...(step.runbook === undefined ? {} : { runbook: [...step.runbook] }) };
    case "addon.install":
      return {
        ...base,
        kind: step.kind,
        addon: step.addon,
        addonKind: step.addonKind,
        ...(step.chart === undefined ? {} : { chart: step.chart }),
        ...(step.chartVersion === undefined ? {} : { chartVersion: step.chartVersion }),
        ...(step.chartDigest === undefined ? {} : { chartDigest: step.chartDigest }),
        objects: canonicalObjects(step.objects),
        diff: step.diff,
      };
    case "addon.upgrade":
      return {
        ...base,
        kind: step.kind,
        addon: step.addon,
        chart: step.chart,
        chartVersion: { from: step.chartVersion.from, to: step.chartVersion.to },
        ...(step.chartDigest === undefined ? {} : { chartDigest: step.chartDigest }),
        valuesDiff: step.valuesDiff,
        objects: canonicalObjects(step.objects),
        diff: step.diff,
      };
    case "addon.apply":
      return { ...base, kind: step.kind, addon: step.addon, objects: canonicalObjects(step.objects), diff: step.diff };
    case "addon.prune":
      return { ...base, kind: step.kind, addon: step.addon, objects: [...step.objects] };
    case "addon.uninstall":
      return { ...base, kind: step.kind, addon: step.addon, addonKind: step.addonKind, namespace: step.namespace };
    case "backup.schedule":
      return { ...base, kind: step.kind, action: step.action, schedule: step.schedule, diff: step.diff };
  }
}

// ---- reading -------------------------------------------------------------------------------------------

/** At most this many schema errors are listed in one message; the rest are counted. */
const MAX_LISTED_ERRORS = 10;

let validator: ValidateFunction | undefined;

/**
 * The schema, compiled on first use and kept: `bosun plan` never reads a plan and should not pay for
 * compiling one. The JSON is loaded with `require` because it lives outside `src/` (shipped beside
 * `dist/` as `schemas/`), which an `import` cannot reach under the build's `rootDir`; the path is the
 * same from `src/report/` and `dist/report/`.
 */
function planValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema = createRequire(import.meta.url)("../../schemas/plan.schema.json") as object;
    validator = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  return validator;
}

/**
 * Parses and checks a plan written by {@link renderJson}. `file` names the input in messages. Throws
 * `InvalidInputError` when the text is not JSON, is a plan of another `apiVersion`, or does not match
 * `schemas/plan.schema.json` (naming the file and the JSON path of each problem).
 */
export function readPlan(text: string, file: string): Plan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`${file}: not a bosun plan: expected a JSON object with apiVersion "${PLAN_API_VERSION}"`);
  }
  const apiVersion = (value as { apiVersion?: unknown }).apiVersion;
  if (apiVersion !== PLAN_API_VERSION) {
    throw new InvalidInputError(
      apiVersion === undefined
        ? `${file}: not a bosun plan: it has no apiVersion (expected "${PLAN_API_VERSION}")`
        : `${file}: plan apiVersion ${JSON.stringify(apiVersion)} is not supported: this bosun reads "${PLAN_API_VERSION}"; compute the plan again with this version of bosun`,
    );
  }
  const validate = planValidator();
  if (!validate(value)) {
    // An `if` error only says "must match then"; the errors of the `then` branch say what is wrong.
    const problems = (validate.errors ?? []).filter((e) => e.keyword !== "if").map(describeError);
    const listed = problems.slice(0, MAX_LISTED_ERRORS);
    const more = problems.length - listed.length;
    throw new InvalidInputError(
      `${file}: not a valid plan:\n${listed.map((p) => `  ${p}`).join("\n")}${more > 0 ? `\n  … and ${more} more` : ""}`,
    );
  }
  return value as Plan;
}

/** `clusters[2].steps[0].kind` for the JSON pointer `/clusters/2/steps/0/kind`; `(root)` for the document. */
function jsonPath(pointer: string, extra?: string): string {
  const segments = pointer === "" ? [] : pointer.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  if (extra !== undefined) segments.push(extra);
  let path = "";
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) path += path === "" ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path === "" ? "(root)" : path;
}

function describeError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return `${jsonPath(error.instancePath, String(params.missingProperty))}: missing`;
    case "additionalProperties":
      return `${jsonPath(error.instancePath, String(params.additionalProperty))}: unknown field`;
    case "enum":
      return `${jsonPath(error.instancePath)}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `${jsonPath(error.instancePath)}: must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${jsonPath(error.instancePath)}: ${error.message ?? error.keyword}`;
  }
}
