/**
 * One plan run, end to end: open the fleet source, load and validate the spec, observe the selected
 * clusters, plan. Shared by `bosun plan`, `bosun apply` and the daemon, so all three see the same plan for
 * the same inputs.
 */
import path from "node:path";
import { UsageError } from "../errors.js";
import { kubeconfigPolicy, type KubeconfigPolicy, type UntrustedDir } from "../kube/connect.js";
import { cacheRoot } from "../paths.js";
import { plan as computePlan } from "../plan/plan.js";
import type { ObservedCluster } from "../plan/observed.js";
import type { Plan } from "../plan/types.js";
import type { DesiredFleet } from "../spec/types.js";
import { openFleetSource, workTreeRoot, type OpenedFleetSource } from "../source/index.js";
import type { SpecIssue } from "../spec/issues.js";
import { loadFleet } from "../spec/load.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../kube/rest.js";
import type { RenderCache } from "../addons/render-cache.js";
import { observeFleet } from "./fleet.js";

/** Inputs of one plan run. */
export interface PlanRunOptions {
  source: { fleet: string } | { repo: string; ref: string };
  /** Cluster names to plan; empty means every cluster. */
  clusters: readonly string[];
  /**
   * What a name in `clusters` the fleet does not have means: by default the `--cluster` flag was wrong (a
   * usage error naming it); `skip` plans the others — a saved plan's clusters, one of which may have left
   * the fleet since (the saved plan is then refused as stale, exit 1).
   */
  unknownClusters?: "usage-error" | "skip";
  env: NodeJS.ProcessEnv;
  clusterTimeoutMs: number;
  /** The clock reading the plan is stamped with. */
  now: Date;
  /** Progress lines for people (stderr). */
  progress?: (line: string) => void;
  /** What the operator allows the fleet to reference (default: public chart repositories, nothing remote). */
  policy?: RepoPolicy;
  /** Run credential plugins of kubeconfig files the spec names (`--allow-exec-plugins`); default off. */
  allowExecPlugins?: boolean;
  /** A source already opened from `source` (the daemon fetched it): planned as it is, not opened again. */
  opened?: OpenedFleetSource;
  /** Told when each cluster has been observed, with how long it took (the daemon's metrics). */
  onObserved?: (observed: ObservedCluster, ms: number) => void;
  /** A fleet already loaded from `opened` (the daemon loaded it to check the revision): not loaded again. */
  loaded?: DesiredFleet;
  /** Renders kept across runs (the daemon: `processRenderCache()`); by default this run's own. */
  renderCache?: RenderCache;
}

/** A computed plan with what it was computed from, or the spec's errors. */
export type PlanRunResult =
  | { ok: true; plan: Plan; observed: ObservedCluster[]; dir: string; fleet: DesiredFleet; kubeconfigs: KubeconfigPolicy }
  | { ok: false; dir: string; errors: SpecIssue[]; warnings: SpecIssue[] };

/** Runs source → spec → observe → plan. */
export async function planFleet(options: PlanRunOptions): Promise<PlanRunResult> {
  const opened = options.opened ?? (await openFleetSource({ ...options.source, env: options.env }));
  const loaded = options.loaded && options.opened ? { ok: true as const, value: options.loaded } : await loadFleet(opened.dir, options.policy ? { policy: options.policy } : {});
  if (!loaded.ok) return { ok: false, dir: opened.dir, errors: loaded.errors, warnings: loaded.warnings };
  const fleet = loaded.value;
  const known = new Set(fleet.clusters.map((c) => c.name));
  const unknown = options.clusters.filter((name) => !known.has(name));
  if (unknown.length > 0 && options.unknownClusters !== "skip") {
    throw new UsageError(`--cluster ${unknown.join(", ")}: not in fleet ${fleet.name} (clusters: ${[...known].join(", ")})`);
  }
  const selected = options.clusters.length === 0 ? fleet.clusters : fleet.clusters.filter((c) => options.clusters.includes(c.name));
  const kubeconfigs = kubeconfigPolicy(await untrustedDirs(opened), options.allowExecPlugins ?? false);
  options.progress?.(`observing ${selected.length} cluster${selected.length === 1 ? "" : "s"} of fleet ${fleet.name}…`);
  const observed = await observeFleet(selected, {
    fleetDir: opened.dir,
    env: options.env,
    kubeconfigs,
    clusterTimeoutMs: options.clusterTimeoutMs,
    requestTimeoutMs: Math.min(DEFAULT_REQUEST_TIMEOUT_MS, options.clusterTimeoutMs),
    concurrency: 8,
    ...(options.policy ? { repoPolicy: options.policy } : {}),
    ...(options.renderCache ? { renderCache: options.renderCache } : {}),
    onCluster: (o, ms) => {
      options.onObserved?.(o, ms);
      options.progress?.(`  ${o.name}: ${o.status === "observed" ? `observed (${o.requests.observe} + ${o.requests.diff} requests)` : `${o.status}: ${o.reason}`} in ${(ms / 1000).toFixed(1)} s`);
    },
  });
  const plan = computePlan(fleet, observed, { source: opened.source, revision: opened.revision, now: options.now.toISOString() });
  return { ok: true, plan, observed, dir: opened.dir, fleet, kubeconfigs };
}

/**
 * The directories a pull request can write into, where no kubeconfig may come from: the fleet directory,
 * the Git work tree around it, the local repository a `--repo` path names, and bosun's cache (which holds
 * the checkout of every commit ever planned, a hostile one included).
 */
async function untrustedDirs(opened: OpenedFleetSource): Promise<UntrustedDir[]> {
  const dirs: UntrustedDir[] = [{ dir: opened.dir, what: "the fleet repository" }];
  if (opened.source.kind === "local") {
    const root = await workTreeRoot(opened.dir).catch(() => null);
    if (root !== null) dirs.push({ dir: root, what: "the fleet's Git work tree" });
  } else if (path.isAbsolute(opened.source.url)) {
    dirs.push({ dir: opened.source.url, what: "the fleet repository" });
  }
  dirs.push({ dir: cacheRoot(), what: "bosun's cache" });
  return dirs;
}
