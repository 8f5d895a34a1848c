/**
 * One plan run, end to end: open the fleet source, load and validate the spec, observe the selected
 * clusters, plan. Shared by `bosun plan`, `bosun apply` and the daemon, so all three see the same plan for
 * the same inputs.
 */
import { InvalidInputError } from "../errors.js";
import { plan as computePlan } from "../plan/plan.js";
import type { ObservedCluster } from "../plan/observed.js";
import type { Plan } from "../plan/types.js";
import type { DesiredFleet } from "../spec/types.js";
import { openFleetSource } from "../source/index.js";
import type { SpecIssue } from "../spec/issues.js";
import { loadFleet } from "../spec/load.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../kube/rest.js";
import { observeFleet } from "./fleet.js";

/** Inputs of one plan run. */
export interface PlanRunOptions {
  source: { fleet: string } | { repo: string; ref: string };
  /** Cluster names to plan; empty means every cluster. */
  clusters: readonly string[];
  env: NodeJS.ProcessEnv;
  clusterTimeoutMs: number;
  /** The clock reading the plan is stamped with. */
  now: Date;
  /** Progress lines for people (stderr). */
  progress?: (line: string) => void;
}

/** A computed plan with what it was computed from, or the spec's errors. */
export type PlanRunResult =
  | { ok: true; plan: Plan; observed: ObservedCluster[]; dir: string; fleet: DesiredFleet }
  | { ok: false; dir: string; errors: SpecIssue[]; warnings: SpecIssue[] };

/** Runs source → spec → observe → plan. */
export async function planFleet(options: PlanRunOptions): Promise<PlanRunResult> {
  const opened = await openFleetSource({ ...options.source, env: options.env });
  const loaded = await loadFleet(opened.dir);
  if (!loaded.ok) return { ok: false, dir: opened.dir, errors: loaded.errors, warnings: loaded.warnings };
  const fleet = loaded.value;
  const known = new Set(fleet.clusters.map((c) => c.name));
  const unknown = options.clusters.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new InvalidInputError(`--cluster ${unknown.join(", ")}: not in fleet ${fleet.name} (clusters: ${[...known].join(", ")})`);
  }
  const selected = options.clusters.length === 0 ? fleet.clusters : fleet.clusters.filter((c) => options.clusters.includes(c.name));
  options.progress?.(`observing ${selected.length} cluster${selected.length === 1 ? "" : "s"} of fleet ${fleet.name}…`);
  const observed = await observeFleet(selected, {
    fleetDir: opened.dir,
    env: options.env,
    clusterTimeoutMs: options.clusterTimeoutMs,
    requestTimeoutMs: Math.min(DEFAULT_REQUEST_TIMEOUT_MS, options.clusterTimeoutMs),
    concurrency: 8,
    onCluster: (o, ms) => options.progress?.(`  ${o.name}: ${o.status === "observed" ? `observed (${o.requests.observe} + ${o.requests.diff} requests)` : `${o.status}: ${o.reason}`} in ${(ms / 1000).toFixed(1)} s`),
  });
  const plan = computePlan(fleet, observed, { source: opened.source, revision: opened.revision, now: options.now.toISOString() });
  return { ok: true, plan, observed, dir: opened.dir, fleet };
}
