/**
 * Observes every cluster of a fleet in parallel: the driver's view (`src/drivers/index.ts`), the add-ons
 * and the backup CronJob, each through one `KubeRest` per cluster. Each cluster has its own deadline; a
 * cluster that cannot be reached, times out or rejects the credentials becomes `unreachable` with the
 * reason, and never delays or fails the others (ARCHITECTURE invariant 8).
 */
import { setMaxListeners } from "node:events";
import type * as k8s from "@kubernetes/client-node";
import { observeAddons } from "../addons/observe.js";
import { RenderCache } from "../addons/render-cache.js";
import { chartFetcherFor, type ChartFetcher } from "../source/chart-fetch.js";
import { observeBackup } from "../backup/observe.js";
import { driverFor } from "../drivers/index.js";
import { BosunError, ToolNotFoundError, asError } from "../errors.js";
import { contextOf, defaultKubeConfig, kubeConfigFor, type KubeconfigPolicy } from "../kube/connect.js";
import { KubeRest, UnreachableError } from "../kube/rest.js";
import type { ObservedCluster, ObservedClusterAPI, ObservedKubeadm } from "../plan/observed.js";
import { intermediateVersions } from "../plan/intermediate-versions.js";
import { planLadder } from "../plan/ladder.js";
import { clusterAPIVersionState, versionState } from "../plan/observed-versions.js";
import { formatVersion } from "../plan/versions.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import { observeReadiness } from "./readiness.js";
import type { DesiredCluster } from "../spec/types.js";

/** How to observe. */
export interface ObserveOptions {
  /** The fleet directory (add-on charts, values files and overlays are read from it). */
  fleetDir: string;
  /** Environment: `$KUBECONFIG`, kubeconfig variables named by the spec, secret values. */
  env: NodeJS.ProcessEnv;
  /** Where kubeconfig files the spec names may come from, and whether their credential plugins run. */
  kubeconfigs: KubeconfigPolicy;
  /** Time one cluster's whole observation may take. */
  clusterTimeoutMs: number;
  /** Time one API request may take. */
  requestTimeoutMs: number;
  /** Clusters observed at the same time. */
  concurrency: number;
  /** Called when a cluster's observation finishes (progress output). */
  onCluster?: (observed: ObservedCluster, ms: number) => void;
  /** The operator's allowances for chart repositories, checked again before helm fetches (default: public only). */
  repoPolicy?: RepoPolicy;
  /**
   * Where renders are kept beyond this run (the daemon passes `processRenderCache()`); by default a cache
   * of this run only, which still shares one render among the clusters that install the same thing.
   */
  renderCache?: RenderCache;
}

/** Observes `clusters`, returning one observation per cluster in the same order. Never throws for one cluster's failure. */
export async function observeFleet(clusters: readonly DesiredCluster[], options: ObserveOptions): Promise<ObservedCluster[]> {
  let base: k8s.KubeConfig | undefined;
  // Read lazily and once: a fleet whose clusters all name their own kubeconfig files needs no default.
  const defaultConfig = (): k8s.KubeConfig => (base ??= defaultKubeConfig(options.env));
  const results: ObservedCluster[] = new Array<ObservedCluster>(clusters.length);
  // A view per run: clusters that install the same chart with the same values share one `helm template`,
  // and each tree is hashed once per run, not once per cluster.
  const renderCache = (options.renderCache ?? new RenderCache()).run();
  // One fetcher per run: each chart repository's index is asked for once, whatever the number of clusters.
  const charts = chartFetcherFor(options.repoPolicy, options.env.BOSUN_HELM);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < clusters.length) {
      const index = next;
      next += 1;
      const cluster = clusters[index] as DesiredCluster;
      const started = performance.now();
      const observed = await observeWithDeadline(cluster, defaultConfig, options, renderCache, charts);
      results[index] = observed;
      options.onCluster?.(observed, performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, clusters.length)) }, worker));
  return results;
}

async function observeWithDeadline(cluster: DesiredCluster, base: () => k8s.KubeConfig, options: ObserveOptions, renderCache: RenderCache, charts: ChartFetcher): Promise<ObservedCluster> {
  const controller = new AbortController();
  // Every request of the cluster listens on this one signal; many run at once by design.
  setMaxListeners(0, controller.signal);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ObservedCluster>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ name: cluster.name, status: "unreachable", reason: `observation took longer than ${Math.round(options.clusterTimeoutMs / 1000)} s` });
    }, options.clusterTimeoutMs);
  });
  try {
    return await Promise.race([observeCluster(cluster, base, options, controller.signal, renderCache, charts), deadline]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Observes one cluster; every failure becomes an `unreachable` or `invalid` observation. */
export async function observeCluster(
  cluster: DesiredCluster,
  base: () => k8s.KubeConfig,
  options: ObserveOptions,
  signal: AbortSignal,
  renderCache?: RenderCache,
  charts?: ChartFetcher,
): Promise<ObservedCluster> {
  const restOptions = { timeoutMs: options.requestTimeoutMs, signal };
  const clients: KubeRest[] = [];
  try {
    const rest = new KubeRest(kubeConfigFor(cluster.name, cluster.connection, options.env, base, options.kubeconfigs), { cluster: cluster.name, ...restOptions });
    clients.push(rest);
    const connect = (context: string): KubeRest => {
      const other = new KubeRest(contextOf(cluster.name, base(), context), { cluster: `${cluster.name} (management cluster ${context})`, ...restOptions });
      clients.push(other);
      return other;
    };
    const driverResult = await driverFor(cluster).observe({ rest, connect });
    if ("invalid" in driverResult) return { name: cluster.name, status: "invalid", reason: driverResult.invalid };
    const upgrade = pendingUpgrade(cluster, driverResult);
    const [addons, backup, readiness] = await Promise.all([
      observeAddons(rest, cluster, options.fleetDir, options.env, {
        upgradeTargets: upgrade?.targets ?? [],
        ...(options.env.BOSUN_HELM ? { helm: options.env.BOSUN_HELM } : {}),
        ...(options.env.BOSUN_KUSTOMIZE ? { kustomize: options.env.BOSUN_KUSTOMIZE } : {}),
        ...(renderCache ? { renderCache } : {}),
        ...(charts ? { charts } : {}),
        ...(options.repoPolicy ? { repoPolicy: options.repoPolicy } : {}),
      }),
      observeBackup(rest, cluster),
      upgrade === undefined ? Promise.resolve(undefined) : observeReadiness(rest),
    ]);
    if (readiness && upgrade && upgrade.unchecked > 0) {
      readiness.problems.push(`the add-ons were rendered for the first ${MAX_TARGET_RENDERS} control-plane rungs only; ${upgrade.unchecked} later rung${upgrade.unchecked === 1 ? " is" : "s are"} not checked against the charts (plan again once nearer)`);
    }
    const total = clients.reduce((sum, client) => sum + client.requests, 0);
    return {
      name: cluster.name,
      status: "observed",
      driver: driverResult,
      addons: addons.observed,
      backup,
      ...(readiness === undefined ? {} : { readiness }),
      requests: { observe: total - addons.diffRequests, diff: addons.diffRequests },
    };
  } catch (error) {
    // A missing helm or kustomize is this machine's problem, not the cluster's: the run fails.
    if (error instanceof ToolNotFoundError) throw error;
    if (error instanceof UnreachableError) return { name: cluster.name, status: "unreachable", reason: error.message };
    if (error instanceof BosunError && error.reason === "InvalidInput") return { name: cluster.name, status: "invalid", reason: error.message };
    if (error instanceof BosunError) return { name: cluster.name, status: "unreachable", reason: error.message };
    // A bug in bosun while observing this cluster: the others are still planned (ARCHITECTURE invariant
    // 8); the message is not shown because it may quote anything the failing code held.
    return { name: cluster.name, status: "invalid", reason: `internal error while observing (a bug in bosun; please report it): ${asError(error).name}` };
  } finally {
    for (const client of clients) client.close();
  }
}

/** Control-plane rung targets add-ons are rendered for at most: a spec naming a far-off version cannot make a plan run helm without end. */
export const MAX_TARGET_RENDERS = 8;

/**
 * Whether an upgrade is planned (the planner computes the same ladder) and the versions its control-plane
 * rungs go to, the first {@link MAX_TARGET_RENDERS} of them: only then are the pre-upgrade inputs read and
 * the add-ons rendered for those versions.
 */
export function pendingUpgrade(cluster: DesiredCluster, driver: ObservedKubeadm | ObservedClusterAPI): { targets: string[]; unchecked: number } | undefined {
  const state = driver.kind === "kubeadm" ? versionState(driver) : clusterAPIVersionState(driver);
  const ladder = planLadder(state, cluster.kubernetes.version, cluster.upgrade.skewPolicy, intermediateVersions(cluster.upgrade));
  if (ladder.kind !== "upgrade") return undefined;
  const all = ladder.rungs.flatMap((rung) => (rung.controlPlane ? [formatVersion(rung.controlPlane.to)] : []));
  return { targets: all.slice(0, MAX_TARGET_RENDERS), unchecked: Math.max(0, all.length - MAX_TARGET_RENDERS) };
}
