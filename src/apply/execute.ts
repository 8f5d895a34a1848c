/**
 * Executes one cluster's planned steps: takes the cluster lock, opens the journal, and runs each step in
 * plan order — recording it before and after it acts, skipping one the interrupted run already finished —
 * until the plan is done, a step fails, a step is blocked, or the wave asks it to stop.
 *
 * Add-on and backup-schedule steps run here (through the verbs in `src/addons/` and the backup template).
 * Kubernetes version and topology steps go to the cluster's upgrade driver (an {@link Upgrader}, from
 * `src/drivers/`), after its preflight passed; a cluster whose plan needs an upgrade and has no driver
 * able to run it is deferred before anything is changed, so its add-ons (planned for the version after
 * the upgrade) are never applied out of order.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { uninstallHelmAddon, applyHelmAddon } from "../addons/helm-apply.js";
import { applyKustomizeAddon, deleteKustomizeAddon, pruneKustomizeAddon } from "../addons/kustomize-apply.js";
import { ETCD_BACKUP_CRONJOB, etcdBackupCronJob } from "../backup/template.js";
import { FIELD_MANAGER } from "../constants.js";
import { BosunError, InternalError, asError } from "../errors.js";
import { KubeApiError, UnreachableError, type KubeRest } from "../kube/rest.js";
import type { ClusterPlan, Step } from "../plan/types.js";
import type { DesiredCluster } from "../spec/types.js";
import { UPGRADE_STEP_KINDS, type Upgrader, type UpgradeSession, type UpgradeStep } from "../drivers/upgrader.js";
import { withRetry } from "../kube/retry.js";
import { RunGuard } from "./guard.js";
import { acquireClusterLock, holderIdentity } from "./lock.js";
import { openJournal } from "./journal.js";
import { stepFingerprint } from "./journal-state.js";
import type { ClusterOutcome } from "./waves.js";
import type { ChartFetcher } from "../source/chart-fetch.js";
import type { RepoPolicy } from "../spec/repo-policy.js";


function isUpgradeStep(step: Step): step is UpgradeStep {
  return UPGRADE_STEP_KINDS.has(step.kind);
}

/** Everything one cluster's run needs. */
export interface ClusterRun {
  desired: DesiredCluster;
  plan: ClusterPlan;
  /**
   * The cluster's REST client without the run's guard: the lock is taken, renewed and released through
   * it. Everything else goes through `guard.guard(rest)`.
   */
  rest: KubeRest;
  /**
   * The run's guard (its signal aborts on a lost lock or SIGTERM); drivers built for this run must write
   * through clients it guards. A fresh one when absent.
   */
  guard?: RunGuard;
  fleetDir: string;
  env: Readonly<Record<string, string | undefined>>;
  runId: string;
  planRevision: string | null;
  /** How long the lock's lease lasts (renewed while the run goes on). */
  leaseSeconds: number;
  /** How often the lock is renewed (default a third of the lease). */
  renewEverySeconds?: number;
  helm?: string;
  kustomize?: string;
  /** The operator's allowances for chart repositories (default: public only). */
  repoPolicy?: RepoPolicy;
  /** The run's chart fetcher, shared by its clusters (default: one per add-on render). */
  charts?: ChartFetcher;
  /** The cluster's upgrade driver; without one, a plan with upgrade steps is deferred. */
  upgrader?: Upgrader;
  log: (line: string) => void;
  /**
   * Told when a step starts, succeeds or fails (the daemon's Kubernetes Events and logs). Synchronous and
   * never allowed to fail the run: a listener that does I/O handles its own errors.
   */
  onStep?: (event: StepEvent) => void;
}

/** A step starting, succeeding or failing in one cluster's run. */
export interface StepEvent {
  cluster: string;
  step: Pick<Step, "id" | "kind" | "summary">;
  phase: "started" | "succeeded" | "failed";
  runId: string;
  revision: string | null;
  /** What the step did (succeeded) or why it failed (failed). */
  detail?: string;
  /** Seconds since the step started (succeeded, failed). */
  seconds?: number;
  /**
   * The run's guarded client for this cluster (its writes stop when the lock is lost), for a listener
   * that records the event in the cluster itself.
   */
  rest: KubeRest;
}

/** Runs one cluster's steps; `stop` aborts between steps (another cluster of the wave failed). */
export async function executeCluster(run: ClusterRun, stop: AbortSignal): Promise<ClusterOutcome> {
  const name = run.plan.name;
  const upgrades = run.plan.steps.filter((s) => isUpgradeStep(s) && s.state === "pending");
  if (upgrades.length > 0 && !run.upgrader) {
    return { kind: "deferred", reason: `${upgrades[0]?.id ?? "an upgrade step"} needs the ${run.plan.driver} upgrade driver, which cannot run here; nothing was changed` };
  }
  let lock;
  try {
    lock = await acquireClusterLock(run.rest, {
      cluster: name,
      holder: holderIdentity(run.runId),
      leaseSeconds: run.leaseSeconds,
      ...(run.renewEverySeconds === undefined ? {} : { renewEverySeconds: run.renewEverySeconds }),
    });
  } catch (error) {
    if (error instanceof UnreachableError) return { kind: "unreachable", reason: error.message };
    return { kind: "failed", step: `${name}/lock`, reason: asError(error).message };
  }
  // From here every request and every helm/kustomize process of the run carries the guard's signal, and
  // every write waits out a renewal in flight: a lost lock refuses the next write, not the next step.
  const guard = run.guard ?? new RunGuard();
  guard.bind(lock);
  const work = guard.guard(run.rest);
  const journal = openJournal(work, name, { runId: run.runId, planRevision: run.planRevision });
  const kubeconfig = await writeKubeconfig(run);
  const session: UpgradeSession = {
    signal: guard.signal,
    record: async (id, state, detail) => {
      await journal.record(id, state, detail === undefined ? {} : { detail });
    },
  };
  const notify = (step: Step, phase: StepEvent["phase"], detail?: string, started?: number): void => {
    if (!run.onStep) return;
    try {
      run.onStep({
        cluster: name,
        step: { id: step.id, kind: step.kind, summary: step.summary },
        phase,
        runId: run.runId,
        revision: run.planRevision,
        rest: work,
        ...(detail === undefined ? {} : { detail }),
        ...(started === undefined ? {} : { seconds: (performance.now() - started) / 1000 }),
      });
    } catch {
      // A listener's failure is its own (see ClusterRun.onStep).
    }
  };
  let outcome: ClusterOutcome | undefined;
  let done = 0;
  let upgraded = false;
  const versionsBefore = upgrades.length > 0 && run.upgrader ? await run.upgrader.versions().catch(() => undefined) : undefined;
  try {
    if (upgrades.length > 0 && run.upgrader && !upgrades.every((s) => s.kind === "topology.scale")) {
      const problem = await run.upgrader.preflight(session).catch((error: unknown) => `the preflight could not run: ${asError(error).message}`);
      if (problem !== undefined) {
        run.log(`${name}: upgrade preflight failed: ${problem}`);
        outcome = { kind: "deferred", reason: `upgrade preflight: ${problem}; nothing was changed` };
      } else {
        run.log(`${name}: upgrade preflight passed`);
      }
    }
    for (const step of outcome === undefined ? run.plan.steps : []) {
      if (guard.signal.aborted) {
        outcome = { kind: "failed", step: step.id, reason: `${asError(guard.signal.reason).message}; stopped before this step` };
        break;
      }
      if (stop.aborted) {
        const why = stop.reason instanceof Error ? stop.reason.message : "another cluster of the wave failed";
        outcome = { kind: "halted", reason: `${why}; stopped after the step in progress`, steps: done };
        break;
      }
      if (step.state === "blocked") {
        outcome = { kind: "deferred", reason: `${step.id} is blocked: ${step.reason ?? "see the plan"}` };
        break;
      }
      if (step.state === "manual") {
        run.log(`${name}: ${step.id}: manual step, not executed (see the plan's runbook)`);
        continue;
      }
      const fingerprint = stepFingerprint(step);
      const started = performance.now();
      try {
        // Inside the try: a cluster that stops answering here is reported (unreachable) and the run ended.
        if (await journal.finished(step.id, fingerprint)) {
          run.log(`${name}: ${step.id}: already done by the interrupted run, skipped`);
          done += 1;
          continue;
        }
        await journal.record(step.id, "started", { fingerprint });
        run.log(`${name}: ${step.id}: ${step.summary}`);
        notify(step, "started");
        if (isUpgradeStep(step)) upgraded = true;
        const detail = isUpgradeStep(step) && run.upgrader ? await run.upgrader.run(step, session) : await runStep(run, work, kubeconfig, step);
        // A long step must not be reported failed for one dropped connection while recording its success.
        await withRetry(() => journal.record(step.id, "succeeded", { fingerprint, detail }), { signal: guard.signal });
        run.log(`${name}: ${step.id}: ${detail} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
        notify(step, "succeeded", detail, started);
        done += 1;
      } catch (error) {
        const message = asError(error).message;
        // The journal says where the step failed (its phase) and why (its reason), never a tool's words.
        const phase = error instanceof BosunError ? error.phase : undefined;
        const why = error instanceof BosunError ? error.reason : "error";
        await journal.record(step.id, "failed", { fingerprint, detail: phase === undefined ? why : `${phase}: ${why}` }).catch(() => undefined);
        notify(step, "failed", message, started);
        outcome = error instanceof UnreachableError ? { kind: "unreachable", reason: message } : { kind: "failed", step: step.id, reason: message, ...(phase === undefined ? {} : { phase }) };
        break;
      }
    }
    outcome ??= { kind: "converged", steps: done };
    if (upgraded && run.upgrader && versionsBefore !== undefined && (outcome.kind === "converged" || outcome.kind === "failed")) {
      const after = await run.upgrader.versions().catch(() => "(could not be read)");
      outcome = { ...outcome, versions: `before: ${versionsBefore}; after: ${after}` };
      run.log(`${name}: versions before: ${versionsBefore}`);
      run.log(`${name}: versions after:  ${after}`);
    }
    await journal.endRun(outcome.kind === "converged" ? "succeeded" : "failed").catch(() => undefined);
    return outcome;
  } finally {
    await fs.rm(path.dirname(kubeconfig), { recursive: true, force: true });
    await lock.release().catch(() => undefined);
  }
}

/**
 * Runs one step, doing exactly what its kind says (an `addon.prune` deletes and applies nothing); returns a
 * one-line description of what it did. `rest` is the run's guarded client.
 */
async function runStep(run: ClusterRun, rest: KubeRest, kubeconfig: string, step: Step): Promise<string> {
  const { desired } = run;
  const helmContext = {
    rest,
    target: { kubeconfig, context: run.rest.kubeConfig.getCurrentContext() },
    ...(run.helm ? { helm: run.helm } : {}),
    ...(run.repoPolicy ? { repoPolicy: run.repoPolicy } : {}),
    ...(run.charts ? { charts: run.charts } : {}),
    log: run.log,
  };
  const kustomizeContext = { rest, ...(run.kustomize ? { kustomize: run.kustomize } : {}), log: run.log };
  const addonOf = (name: string): DesiredCluster["addons"][number] => {
    const addon = desired.addons.find((a) => a.name === name);
    if (!addon) throw new InternalError(`${step.id}: add-on ${name} is not in the spec`);
    return addon;
  };
  switch (step.kind) {
    case "backup.schedule":
      return backupSchedule(run, rest, step.action);
    case "addon.install":
    case "addon.upgrade":
    case "addon.apply": {
      const addon = addonOf(step.addon);
      if (addon.source.kind === "helm") {
        const planned = step.kind === "addon.apply" || step.chartDigest === undefined ? {} : { chartDigest: step.chartDigest };
        const result = await applyHelmAddon(helmContext, desired, addon, run.fleetDir, run.env, planned);
        return `${result.outcome}, release revision ${result.revision}`;
      }
      const result = await applyKustomizeAddon(kustomizeContext, desired, addon, run.fleetDir);
      return `${result.outcome}: ${result.objects.length} objects`;
    }
    case "addon.prune": {
      const addon = addonOf(step.addon);
      if (addon.source.kind !== "kustomize") throw new InternalError(`${step.id}: only Kustomize add-ons are pruned by bosun (Helm prunes its own)`);
      const result = await pruneKustomizeAddon(kustomizeContext, desired, addon, run.fleetDir);
      return result.outcome === "unchanged" ? "nothing left the overlay" : `pruned ${result.pruned.length} objects: ${result.pruned.join(", ")}`;
    }
    case "addon.uninstall": {
      if (step.addonKind === "helm") {
        const result = await uninstallHelmAddon(helmContext, step.addon, step.namespace ?? step.addon);
        return result.outcome;
      }
      const result = await deleteKustomizeAddon(kustomizeContext, desired, step.addon);
      return `${result.outcome}: ${result.deleted.length} objects`;
    }
    case "backup.snapshot":
    case "controlPlane.upgrade":
    case "workers.upgrade":
    case "topology.scale":
      throw new InternalError(`${step.id}: upgrade steps are not executed here`);
  }
}

/**
 * Creates, updates (server-side apply, field manager bosun) or deletes the etcd backup CronJob, through
 * `KubeRest`, so the requests have its deadline: a cluster that stops answering fails the step as
 * unreachable instead of hanging the run.
 */
async function backupSchedule(run: ClusterRun, rest: KubeRest, action: "create" | "update" | "delete"): Promise<string> {
  const etcd = run.desired.backup.etcd;
  const path = `/apis/batch/v1/namespaces/${ETCD_BACKUP_CRONJOB.namespace}/cronjobs/${ETCD_BACKUP_CRONJOB.name}`;
  if (action === "delete" || etcd === null) {
    try {
      await rest.call({ method: "DELETE", path }, `delete CronJob ${ETCD_BACKUP_CRONJOB.namespace}/${ETCD_BACKUP_CRONJOB.name}`);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
    return "deleted the etcd backup CronJob";
  }
  await rest.call(
    {
      method: "PATCH",
      path,
      query: { fieldManager: FIELD_MANAGER, force: "true" },
      body: JSON.stringify(etcdBackupCronJob(run.desired.name, etcd)),
      contentType: "application/apply-patch+yaml",
    },
    `apply CronJob ${ETCD_BACKUP_CRONJOB.namespace}/${ETCD_BACKUP_CRONJOB.name}`,
  );
  return `${action === "create" ? "created" : "updated"} the etcd backup CronJob ("${etcd.schedule}", keep ${etcd.retain})`;
}

/**
 * Writes the cluster's kubeconfig (its current context only) to a private temp file for helm, which takes
 * a file and a context; removed when the run ends.
 */
async function writeKubeconfig(run: ClusterRun): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-apply-"));
  const file = path.join(dir, "kubeconfig");
  await fs.writeFile(file, run.rest.kubeConfig.exportConfig(), { mode: 0o600 });
  return file;
}
