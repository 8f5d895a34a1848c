/**
 * `bosun apply` end to end: a plan (computed now, or read from a file and checked against a fresh one),
 * then the wave schedule with maintenance windows, each cluster through `executeCluster`.
 */
import type { DesiredFleet, WindowOperation } from "../spec/types.js";
import { contextOf, defaultKubeConfig, kubeConfigFor, type KubeconfigPolicy } from "../kube/connect.js";
import { KubeRest } from "../kube/rest.js";
import type { ClusterPlan, Plan, Step } from "../plan/types.js";
import { driverFor } from "../drivers/index.js";
import type { Upgrader } from "../drivers/upgrader.js";
import { executeCluster, type StepEvent } from "./execute.js";
import { RunGuard } from "./guard.js";
import { newRunId } from "./lock.js";
import { asError } from "../errors.js";
import { soakProblems } from "./soak-health.js";
import { runWaves, type ClusterOutcome, type WaveEvent, type WaveResults } from "./waves.js";
import { nextWindowChange, windowVerdict } from "../plan/windows.js";
import { chartFetcherFor } from "../source/chart-fetch.js";
import type { RepoPolicy } from "../spec/repo-policy.js";

/** Inputs of one apply. */
export interface ApplyFleetOptions {
  plan: Plan;
  fleet: DesiredFleet;
  fleetDir: string;
  env: NodeJS.ProcessEnv;
  /** The kubeconfig policy of the plan run that loaded `fleet` (same files refused, same plugins allowed). */
  kubeconfigs: KubeconfigPolicy;
  now: () => Date;
  sleep: (seconds: number) => Promise<void>;
  log: (line: string) => void;
  onEvent?: (event: WaveEvent) => void;
  /** Run clusters outside their maintenance windows too (an explicit override; the CLI warns). */
  ignoreWindows?: boolean;
  /** Do not wait the waves' soak times (an explicit override; the CLI warns). */
  skipSoak?: boolean;
  /** The operator's allowances for chart repositories, checked again before helm fetches (default: public only). */
  repoPolicy?: RepoPolicy;
  /** Stops every cluster's run at its next request (SIGTERM): writes are refused, waits and tools end. */
  signal?: AbortSignal;
  /** Stops every cluster after the step in progress, halting nothing (see RunWavesOptions.stop). */
  stopBetweenSteps?: AbortSignal;
  /** Told of every step started, succeeded or failed (see ClusterRun.onStep). */
  onStep?: (event: StepEvent) => void;
  /** The run's id in locks and journals; a new one when absent. */
  runId?: string;
}

/** Runs the plan's clusters wave by wave; returns each cluster's outcome. */
export async function applyFleet(options: ApplyFleetOptions): Promise<WaveResults> {
  const { plan, fleet } = options;
  const runId = options.runId ?? newRunId();
  // One chart fetcher for the run: a repository's index is read once and an OCI chart pulled once,
  // however many clusters install it; each is still checked against the plan's digest.
  const charts = chartFetcherFor(options.repoPolicy, options.env.BOSUN_HELM, options.signal);
  const baseConfig = (() => {
    let kc: ReturnType<typeof defaultKubeConfig> | undefined;
    return () => (kc ??= defaultKubeConfig(options.env));
  })();
  return runWaves(plan, {
    waves: options.skipSoak ? fleet.waves.map((wave) => ({ ...wave, soakSeconds: 0 })) : fleet.waves,
    sleep: options.sleep,
    soak: async (_wave, clusters, seconds) => {
      // Observed again every 30 s (or at the soak's end when shorter); the first problem ends the soak.
      for (let waited = 0; waited < seconds; ) {
        const step = Math.min(SOAK_CHECK_SECONDS, seconds - waited);
        await options.sleep(step);
        waited += step;
        for (const cluster of clusters) {
          const problem = await soakCheck(cluster);
          if (problem !== undefined) return `${cluster.name}: ${problem}`;
        }
      }
      return undefined;
    },
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.stopBetweenSteps ? { stop: options.stopBetweenSteps } : {}),
    deferral: (cluster) => {
      if (options.ignoreWindows) return undefined;
      for (const operation of operationsOf(cluster)) {
        const verdict = windowVerdict(fleet.windows, cluster.name, operation, options.now());
        if (!verdict.allowed) return `${operation}: ${verdict.reason}`;
      }
      return undefined;
    },
    runCluster: async (cluster, stop) => {
      // No step starts once the cluster's maintenance window closes (the step in progress finishes).
      const closing = options.ignoreWindows ? undefined : windowCloseStop(fleet, cluster, options.now());
      try {
        return await runOneCluster(cluster, closing ? AbortSignal.any([stop, closing.signal]) : stop);
      } finally {
        closing?.cancel();
      }
    },
  });

  /** What is unhealthy in a soaking cluster now, or undefined; a cluster that does not answer is unhealthy too. */
  async function soakCheck(cluster: ClusterPlan): Promise<string | undefined> {
    const desired = fleet.clusters.find((c) => c.name === cluster.name);
    if (!desired) return undefined;
    let rest: KubeRest | undefined;
    try {
      rest = new KubeRest(kubeConfigFor(cluster.name, desired.connection, options.env, baseConfig, options.kubeconfigs), { cluster: cluster.name, ...(options.signal ? { signal: options.signal } : {}) });
      const problems = await soakProblems(rest);
      return problems.length === 0 ? undefined : problems.join("; ");
    } catch (error) {
      return `could not be observed: ${asError(error).message}`;
    } finally {
      rest?.close();
    }
  }

  async function runOneCluster(cluster: ClusterPlan, stop: AbortSignal): Promise<ClusterOutcome> {
      const desired = fleet.clusters.find((c) => c.name === cluster.name);
      if (!desired) return { kind: "failed", step: `${cluster.name}/(spec)`, reason: "not in the fleet" };
      let kc;
      try {
        // Add-ons and backups live in the cluster itself, whichever driver upgrades it.
        kc = kubeConfigFor(cluster.name, desired.connection, options.env, baseConfig, options.kubeconfigs);
      } catch (error) {
        return { kind: "deferred", reason: (error as Error).message };
      }
      // One road to the API: every request of the run goes through KubeRest. The lock uses `base`; the add-on
      // verbs, the journal and the drivers use clients the run's guard derives from it, so a lost lock or
      // SIGTERM refuses their next write.
      const guard = new RunGuard(options.signal);
      const base = new KubeRest(kc, { cluster: cluster.name });
      const rest = guard.guard(base);
      let upgrader: Upgrader;
      try {
        // A driver that works through another cluster (Cluster API's management cluster) connects to it
        // here, through the run's guard like every other client; a context missing from the kubeconfig
        // defers the cluster.
        const connect = (context: string): KubeRest =>
          guard.guard(new KubeRest(contextOf(cluster.name, baseConfig(), context), { cluster: `${cluster.name} (management cluster ${context})` }));
        upgrader = driverFor(desired).upgrader({ rest, connect }, { runId, fleetDir: options.fleetDir, log: options.log, planned: cluster.versions });
      } catch (error) {
        return { kind: "deferred", reason: (error as Error).message };
      }
      return executeCluster(
        {
          desired,
          plan: cluster,
          rest: base,
          guard,
          upgrader,
          fleetDir: options.fleetDir,
          env: options.env,
          runId,
          planRevision: plan.revision,
          // A control-plane upgrade can keep the API server away for a minute or more (a single control-plane
          // node's kube-apiserver is replaced); the lock must outlive that, or the run would stop half-way.
          leaseSeconds: cluster.steps.some((s) => s.kind === "controlPlane.upgrade") ? 300 : 60,
          ...(options.env.BOSUN_HELM ? { helm: options.env.BOSUN_HELM } : {}),
          ...(options.repoPolicy ? { repoPolicy: options.repoPolicy } : {}),
          charts,
          ...(options.env.BOSUN_KUSTOMIZE ? { kustomize: options.env.BOSUN_KUSTOMIZE } : {}),
          log: options.log,
          ...(options.onStep ? { onStep: options.onStep } : {}),
        },
        stop,
      );
  }
}

/** How often a soaking wave's clusters are observed again. */
const SOAK_CHECK_SECONDS = 30;

/** Aborts (reason: "a maintenance window closed") when `cluster`'s window for its pending operations closes. */
export function windowCloseStop(fleet: DesiredFleet, cluster: ClusterPlan, now: Date): { signal: AbortSignal; cancel: () => void } | undefined {
  const closes = nextWindowChange(fleet.windows, cluster.name, operationsOf(cluster), now);
  if (closes === null) return undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(new Error("a maintenance window closed")); }, Math.max(0, closes.getTime() - now.getTime()));
  timer.unref();
  return { signal: controller.signal, cancel: () => { clearTimeout(timer); } };
}

/** The maintenance-window operations a cluster's pending steps belong to. */
export function operationsOf(cluster: ClusterPlan): WindowOperation[] {
  const operations = new Set<WindowOperation>();
  for (const step of cluster.steps) operations.add(operationOf(step));
  return [...operations].sort();
}

function operationOf(step: Step): WindowOperation {
  if (step.kind.startsWith("addon.")) return "addons";
  if (step.kind === "backup.schedule") return "backup";
  return "upgrade";
}

/**
 * Checks that a plan read from a file still describes the work: the same fleet and revision, and — per
 * cluster — the same steps as a plan computed now. A plan whose world moved on is refused, never applied.
 */
export function stalePlanProblems(saved: Plan, fresh: Plan): string[] {
  const problems: string[] = [];
  if (saved.fleet !== fresh.fleet) problems.push(`it is for fleet ${saved.fleet}, not ${fresh.fleet}`);
  if (saved.revision !== fresh.revision) problems.push(`it was computed at revision ${saved.revision ?? "(local)"}, the fleet is now at ${fresh.revision ?? "(local)"}`);
  for (const cluster of saved.clusters) {
    const now = fresh.clusters.find((c) => c.name === cluster.name);
    if (!now) {
      problems.push(`cluster ${cluster.name} is no longer planned`);
      continue;
    }
    const before = cluster.steps.map(stepKey).join("\n");
    const after = now.steps.map(stepKey).join("\n");
    if (before !== after) problems.push(`cluster ${cluster.name} changed since the plan was made (its steps differ now)`);
  }
  return problems;
}

/** What must be the same for a saved step to be the step run now. */
function stepKey(step: Step): string {
  return JSON.stringify({ ...step, summary: undefined });
}
