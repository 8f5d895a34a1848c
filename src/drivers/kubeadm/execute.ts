/**
 * Executes a kubeadm cluster's upgrade steps (DESIGN section 4): the preflight, the verified pre-upgrade
 * etcd snapshot, and each rung's control plane and workers, node by node.
 *
 * A rung's control plane runs in the two phases the ladder promises (`src/plan/ladder.ts`): first every
 * control-plane node's static pods, one node at a time (`kubeadm upgrade apply` on the first, `kubeadm
 * upgrade node` on the others; no drain — kubeadm replaces the static pods in place), then every
 * control-plane kubelet, one node at a time, each drained first. Then the workers, `batchSize` at a time:
 * cordon → drain → upgrade Job → new kubelet Ready → uncordon.
 *
 * Everything is decided from the cluster as it is now, not from the plan: before each node the cluster is
 * observed again, a node already at the target is skipped (so a resumed run never upgrades a finished
 * node twice), and the skew guard (`src/plan/move-guard.ts`) must pass or nothing starts. A failure stops
 * the cluster's upgrade with the node left cordoned and says what to do; the next run picks up there.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { GROUPS, identity } from "../../identity.js";
import { BosunError, type ErrorReason, type FailurePhase } from "../../errors.js";
import { snapshotStep } from "../../backup/snapshot.js";
import { createJob, deleteJob, jobState, readJob, waitForJob } from "../../kube/jobs.js";
import type { KubeRest } from "../../kube/rest.js";
import { withRetry, type RetryOptions } from "../../kube/retry.js";
import { pollUntil } from "../../poll.js";
import { moveProblems, type NodeMove } from "../../plan/move-guard.js";
import type { ObservedKubeadm } from "../../plan/observed.js";
import { versionRanges, versionState } from "../../plan/observed-versions.js";
import type { BackupSnapshotStep, ControlPlaneUpgradeStep, WorkersUpgradeStep } from "../../plan/types.js";
import { compareVersions, parseVersion } from "../../plan/versions.js";
import type { DesiredCluster } from "../../spec/types.js";
import { checkRungBeforeStart } from "../rung-checks.js";
import type { Upgrader, UpgradeSession } from "../upgrader.js";
import { cordon, drain, uncordon } from "./drain.js";
import { observeKubeadm } from "./observe.js";
import { DEFAULT_UPGRADE_DEADLINE_SECONDS, UPGRADE_NAMESPACE, upgradeJob, upgradeJobName, type UpgradePhase } from "./upgrade-job.js";

/** The steps this driver executes. */
export type KubeadmStep = BackupSnapshotStep | ControlPlaneUpgradeStep | WorkersUpgradeStep;

/** What the driver needs for one cluster. */
export interface KubeadmContext {
  cluster: string;
  desired: DesiredCluster;
  rest: KubeRest;
  runId: string;
  /** Aborts every wait: the run lost its lock or is stopping. */
  signal: AbortSignal;
  log: (line: string) => void;
  /** Records node-level progress in the journal (`<step id>/<node>/<phase>`). */
  record: (id: string, state: "started" | "succeeded" | "failed", detail?: string) => Promise<void>;
  /** The fleet directory, where the spec's `provider.kubeadm.upgradeScript` lives. */
  fleetDir: string;
  /** How long a node's Job may take before bosun gives up on it. */
  jobTimeoutMs?: number;
  /** How long a node may take to show its new versions once its Job succeeded. */
  readyTimeoutMs?: number;
  /** How long the cluster may stay unreachable before the step fails. */
  outageMs?: number;
}

/**
 * The preflight of DESIGN section 4, run before the first upgrade step: every node Ready,
 * every static control-plane pod Ready (etcd included), and the versions still the ones the plan was
 * computed from. Returns the problem, or undefined when the upgrade may start.
 */
export async function kubeadmPreflight(ctx: KubeadmContext, planned: { controlPlane?: { oldest: string; newest: string }; workers?: { oldest: string; newest: string } }): Promise<string | undefined> {
  const observed = await observe(ctx);
  // Every node, not only the control plane: a worker that is not Ready would be cordoned and never drain.
  const notReady = observed.nodes.filter((n) => !n.ready).map((n) => `${n.name}${n.role === "control-plane" ? " (control plane)" : ""}`);
  if (notReady.length > 0) return `node${notReady.length === 1 ? "" : "s"} ${notReady.join(", ")} not Ready`;
  const podsNotReady = observed.controlPlane.filter((n) => !n.ready).map((n) => n.node);
  if (podsNotReady.length > 0) return `static control-plane pods (etcd, kube-apiserver…) not Ready on ${podsNotReady.join(", ")}`;
  const now = versionRanges(versionState(observed));
  if (planned.controlPlane && now.controlPlane && (planned.controlPlane.oldest !== now.controlPlane.oldest || planned.controlPlane.newest !== now.controlPlane.newest)) {
    return `the control plane is at ${describeRange(now.controlPlane)} now, the plan was made at ${describeRange(planned.controlPlane)}; plan again`;
  }
  if (planned.workers && now.workers && (planned.workers.oldest !== now.workers.oldest || planned.workers.newest !== now.workers.newest)) {
    return `the workers are at ${describeRange(now.workers)} now, the plan was made at ${describeRange(planned.workers)}; plan again`;
  }
  return undefined;
}

/** Runs one upgrade step; returns a one-line description of what it did. */
export async function executeKubeadmStep(ctx: KubeadmContext, step: KubeadmStep): Promise<string> {
  switch (step.kind) {
    case "backup.snapshot":
      return snapshot(ctx, step);
    case "controlPlane.upgrade":
      return controlPlane(ctx, step);
    case "workers.upgrade":
      return workers(ctx, step);
  }
}

async function snapshot(ctx: KubeadmContext, step: BackupSnapshotStep): Promise<string> {
  ctx.log(`${ctx.cluster}: taking the pre-upgrade etcd snapshot`);
  return snapshotStep(ctx.rest, step, {
    cluster: ctx.cluster,
    backup: ctx.desired.backup.etcd,
    runId: ctx.runId,
    timeoutMs: ctx.jobTimeoutMs ?? 15 * 60_000,
    ...retryOptions(ctx),
  });
}

async function controlPlane(ctx: KubeadmContext, step: ControlPlaneUpgradeStep): Promise<string> {
  const to = step.to;
  const order = await nodeOrder(ctx, "control-plane", step.targets);
  let upgraded = 0;
  // The pre-upgrade checks again, only before the rung starts: a rung half done is finished, not left.
  const atStart = await observe(ctx);
  if (!order.some((node) => staticPodsAt(atStart, node, to))) await checkRungBeforeStart(ctx.rest, atStart, step.id, to, `${ctx.cluster}:`);
  // Phase A: static pods, one node at a time.
  for (const node of order) {
    // kubeadm replaces the static pods early in `upgrade apply|node` and goes on (configuration, addons):
    // the Job of an interrupted run may still be at work although the images are new. Wait for it first.
    await finishRunningJob(ctx, node, "control-plane", to);
    const observed = await observe(ctx);
    if (staticPodsAt(observed, node, to)) {
      ctx.log(`${ctx.cluster}: ${node}: control plane already at ${to}`);
      continue;
    }
    guard(ctx, observed, { kind: "static-pods", node, to }, step.id);
    // `kubeadm upgrade apply` once per version: on the node that finds the cluster's configuration behind.
    const kubeadm = before(observed.clusterVersion, to) ? "apply" : "node";
    await upgradeNode(ctx, step.id, { node, role: "control-plane", phase: "control-plane", to, kubeadm, drain: false });
    upgraded += 1;
  }
  // Every node's static pods are new, but `kubeadm upgrade apply` may not have finished (it failed after
  // replacing the pods, before recording the version): run it again on the first node; it is idempotent.
  const afterA = await observe(ctx);
  const first = order[0];
  if (first !== undefined && before(afterA.clusterVersion, to)) {
    ctx.log(`${ctx.cluster}: kubeadm-config still says ${afterA.clusterVersion}: running kubeadm upgrade apply on ${first} again`);
    await upgradeNode(ctx, step.id, { node: first, role: "control-plane", phase: "control-plane", to, kubeadm: "apply", drain: false, rerun: true });
  }
  // Phase B: the control-plane kubelets, once every apiserver is at the target.
  for (const node of order) {
    await finishRunningJob(ctx, node, "kubelet", to);
    const observed = await observe(ctx);
    if (kubeletAt(observed, node, to)) {
      if (await uncordon(ctx.rest, node, retryOptions(ctx))) ctx.log(`${ctx.cluster}: ${node}: uncordoned (left cordoned by an interrupted run)`);
      continue;
    }
    guard(ctx, observed, { kind: "kubelet", nodes: [node], to }, step.id);
    await upgradeNode(ctx, step.id, { node, role: "control-plane", phase: "kubelet", to, kubeadm: "node", drain: true });
  }
  return upgraded === 0 && order.length > 0
    ? `control plane at ${to} on ${order.length} node${order.length === 1 ? "" : "s"}`
    : `control plane upgraded to ${to} on ${order.join(", ")}`;
}

async function workers(ctx: KubeadmContext, step: WorkersUpgradeStep): Promise<string> {
  const to = step.to;
  const order = await nodeOrder(ctx, "worker", step.targets);
  const done: string[] = [];
  for (let i = 0; i < order.length; i += step.batchSize) {
    const batch = order.slice(i, i + step.batchSize);
    const observed = await observe(ctx);
    const pending: string[] = [];
    for (const node of batch) {
      if (kubeletAt(observed, node, to)) {
        if (await uncordon(ctx.rest, node, retryOptions(ctx))) ctx.log(`${ctx.cluster}: ${node}: uncordoned (left cordoned by an interrupted run)`);
      } else {
        pending.push(node);
      }
    }
    if (pending.length === 0) continue;
    guard(ctx, observed, { kind: "kubelet", nodes: pending, to }, step.id);
    // The whole batch is cordoned before any of it is drained, so pods evicted from one node of the
    // batch never land on another node of the same batch.
    for (const node of pending) {
      throwIfStopping(ctx);
      await cordon(ctx.rest, node, ctx.runId, retryOptions(ctx));
    }
    const results = await Promise.allSettled(
      pending.map((node) => upgradeNode(ctx, step.id, { node, role: "worker", phase: "kubelet", to, kubeadm: "node", drain: true })),
    );
    const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    done.push(...pending.filter((_, index) => results[index]?.status === "fulfilled"));
    // The rest of the batch finished its node; no new batch starts after a failure. Every failed node
    // is named (each stays cordoned).
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) {
      throw new BosunError(failed.map((f) => (f instanceof Error ? f.message : String(f))).join(" | "), { reason: "ApplyFailed", identity: `${ctx.cluster}:` });
    }
  }
  return done.length === 0 ? `workers already at ${to}` : `workers upgraded to ${to}: ${done.join(", ")}`;
}

/** One node through one phase: (cordon, drain,) Job, new versions Ready, (uncordon). */
async function upgradeNode(
  ctx: KubeadmContext,
  stepId: string,
  work: { node: string; role: "control-plane" | "worker"; phase: UpgradePhase; to: string; kubeadm: "apply" | "node"; drain: boolean; rerun?: boolean },
): Promise<void> {
  throwIfStopping(ctx);
  const { node, phase, to } = work;
  const id = `${stepId}/${node}/${phase}`;
  const prefix = `${ctx.cluster}: ${node}`;
  const started = performance.now();
  const timings: string[] = [];
  const timed = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    const result = await action();
    timings.push(`${what} ${seconds(at)}`);
    return result;
  };
  await withRetry(() => ctx.record(id, "started"), retryOptions(ctx));
  let stage = "cordon";
  let failurePhase: FailurePhase = "cordon";
  const job = upgradeJobName(node, phase, to);
  try {
    if (work.drain) {
      const cordoned = await timed("cordon", () => cordon(ctx.rest, node, ctx.runId, retryOptions(ctx)));
      ctx.log(`${prefix}: ${cordoned === "already-by-someone-else" ? "was already cordoned (by someone else; it stays cordoned afterwards)" : "cordoned"}`);
      stage = "drain";
      failurePhase = "drain";
      const drained = await timed("drain", () =>
        drain(ctx.rest, node, ctx.desired.upgrade.drainTimeoutSeconds * 1000, { ...retryOptions(ctx), log: (line) => {
          ctx.log(`${prefix}: ${line}`);
        } }),
      );
      ctx.log(`${prefix}: drained (${drained.evicted} pod${drained.evicted === 1 ? "" : "s"} evicted)`);
    }
    stage = "upgrade Job";
    failurePhase = "job";
    throwIfStopping(ctx);
    await timed("upgrade", () => runJob(ctx, work, job));
    stage = "waiting for the new versions";
    failurePhase = "node-wait";
    await timed("ready", () => waitForNode(ctx, work));
    if (work.drain) {
      stage = "uncordon";
      failurePhase = "cordon";
      const released = await timed("uncordon", () => uncordon(ctx.rest, node, retryOptions(ctx)));
      if (released) ctx.log(`${prefix}: uncordoned`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await ctx.record(id, "failed", `${failurePhase}: ${message}`).catch(() => undefined);
    const cordonNote = work.drain ? "The node is left cordoned. " : "";
    const look = stage === "upgrade Job" || stage === "waiting for the new versions" ? `Look at \`kubectl -n ${UPGRADE_NAMESPACE} logs job/${job}\` and the node, fix the cause, ` : "Fix the cause, ";
    throw new BosunError(
      `${node}: ${phase === "control-plane" ? "control-plane" : "kubelet"} upgrade to ${to} failed at ${stage}: ${message}. ${cordonNote}${look}then run bosun apply again: it resumes at this node.`,
      // The phase says where; a timeout or a lost lock keeps its own reason (not one generic failure).
      { reason: nodeFailureReason(error), phase: failurePhase, identity: identity({ cluster: ctx.cluster, group: GROUPS.core, kind: "Node", name: node }), cause: error, retryable: error instanceof BosunError && error.retryable },
    );
  }
  const summary = `${phase === "control-plane" ? "control plane" : "kubelet"} at ${to} in ${seconds(started)} (${timings.join(", ")})`;
  ctx.log(`${prefix}: ${summary}`);
  await withRetry(() => ctx.record(id, "succeeded", summary), retryOptions(ctx));
}

/** Creates the node's Job (replacing a failed one of an earlier run) and waits for it to succeed. */
async function runJob(
  ctx: KubeadmContext,
  work: { node: string; role: "control-plane" | "worker"; phase: UpgradePhase; to: string; kubeadm: "apply" | "node"; rerun?: boolean },
  name: string,
): Promise<void> {
  const options = retryOptions(ctx);
  let existing = await readJob(ctx.rest, UPGRADE_NAMESPACE, name, options);
  if (existing !== null) {
    const state = jobState(existing);
    if (typeof state === "object") {
      ctx.log(`${ctx.cluster}: ${work.node}: replacing the failed Job ${name} of an earlier run (${state.failed})`);
      await deleteJob(ctx.rest, UPGRADE_NAMESPACE, name, options);
      existing = null;
    } else if (state === "running") {
      ctx.log(`${ctx.cluster}: ${work.node}: Job ${name} of an earlier run is still running; waiting for it`);
    } else if (work.rerun === true) {
      await deleteJob(ctx.rest, UPGRADE_NAMESPACE, name, options);
      existing = null;
    } else {
      // It succeeded, yet the node did not show the version when bosun looked: either the node is about
      // to (a kubelet reports its new version seconds after its restart), or the script did not do its
      // work (a node reinstalled under the same name, a script that exits 0 too early). Give the node two
      // minutes; then run it once more from a fresh Job.
      try {
        await waitForNode(ctx, work, 120_000);
        ctx.log(`${ctx.cluster}: ${work.node}: Job ${name} of an earlier run had done it`);
        return;
      } catch (error) {
        if (ctx.signal.aborted) throw error;
      }
      ctx.log(`${ctx.cluster}: ${work.node}: Job ${name} succeeded earlier but the node is not at ${work.to}; running it again`);
      await deleteJob(ctx.rest, UPGRADE_NAMESPACE, name, options);
      existing = null;
    }
  }
  if (existing === null) {
    throwIfStopping(ctx);
    const provider = ctx.desired.provider;
    const packageManager = provider.kind === "kubeadm" ? provider.packageManager : "apt";
    // The spec's own script, when it names one (validated to be a non-empty file inside the fleet).
    const script = provider.kind === "kubeadm" && provider.upgradeScript !== null ? await fs.readFile(path.join(ctx.fleetDir, provider.upgradeScript), "utf8") : undefined;
    const input = { cluster: ctx.cluster, node: work.node, role: work.role, phase: work.phase, version: work.to, kubeadm: work.kubeadm, packageManager };
    await createJob(ctx.rest, script === undefined ? upgradeJob(input) : upgradeJob(input, script), options);
    ctx.log(`${ctx.cluster}: ${work.node}: ${work.phase === "control-plane" ? `kubeadm upgrade ${work.kubeadm}` : "kubelet upgrade"} to ${work.to} (Job ${name})`);
  }
  const outcome = await waitForJob(ctx.rest, UPGRADE_NAMESPACE, name, {
    ...options,
    timeoutMs: ctx.jobTimeoutMs ?? (DEFAULT_UPGRADE_DEADLINE_SECONDS + 60) * 1000,
  });
  if (outcome.kind === "failed") {
    const said = outcome.pod?.message ?? outcome.pod?.failure;
    throw new BosunError(`Job ${name} failed (${outcome.reason}${said ? `; ${said}` : ""})`, { reason: "ApplyFailed", phase: "job", identity: identity({ cluster: ctx.cluster, group: GROUPS.batch, kind: "Job", namespace: UPGRADE_NAMESPACE, name }) });
  }
}

/** Waits until the node shows the phase's new versions: its static pods (Ready) or its kubelet (Ready). */
async function waitForNode(ctx: KubeadmContext, work: { node: string; phase: UpgradePhase; to: string }, timeout?: number): Promise<void> {
  const timeoutMs = timeout ?? ctx.readyTimeoutMs ?? 10 * 60_000;
  await pollUntil<undefined>(
    async () => {
      const observed = await observe(ctx);
      const node = observed.nodes.find((n) => n.name === work.node);
      if (!node) throw new BosunError(`node ${work.node} left the cluster during its upgrade`, { reason: "ApplyFailed", phase: "node-wait", identity: identity({ cluster: ctx.cluster, group: GROUPS.core, kind: "Node", name: work.node }) });
      if (work.phase === "control-plane") {
        const pods = observed.controlPlane.find((n) => n.node === work.node);
        if (staticPodsAt(observed, work.node, work.to) && pods?.ready) return { done: true, value: undefined };
        return { done: false, pending: `static pods at ${pods?.apiserver ?? "?"}/${pods?.controllerManager ?? "?"}/${pods?.scheduler ?? "?"}${pods?.ready ? "" : ", not Ready"}` };
      }
      if (kubeletAt(observed, work.node, work.to) && node.ready) return { done: true, value: undefined };
      return { done: false, pending: `kubelet ${node.kubelet}${node.ready ? "" : ", node not Ready"}` };
    },
    {
      deadline: Date.now() + timeoutMs,
      backoff: { initialMs: 1_000, maxMs: 1_000 },
      signal: ctx.signal,
      onTimeout: (last) =>
        new BosunError(`the upgrade Job succeeded but node ${work.node} does not show ${work.to} after ${Math.round(timeoutMs / 1000)} s (last seen: ${last ?? "nothing"})`, {
          reason: "HealthTimeout",
          phase: "node-wait",
          identity: identity({ cluster: ctx.cluster, group: GROUPS.core, kind: "Node", name: work.node }),
        }),
    },
  );
}

/** Waits for the node's Job of this phase and version if one of an interrupted run is still running. */
async function finishRunningJob(ctx: KubeadmContext, node: string, phase: UpgradePhase, to: string): Promise<void> {
  const name = upgradeJobName(node, phase, to);
  const existing = await readJob(ctx.rest, UPGRADE_NAMESPACE, name, retryOptions(ctx));
  if (existing === null || jobState(existing) !== "running") return;
  ctx.log(`${ctx.cluster}: ${node}: Job ${name} of an earlier run is still running; waiting for it before going on`);
  await waitForJob(ctx.rest, UPGRADE_NAMESPACE, name, { ...retryOptions(ctx), timeoutMs: ctx.jobTimeoutMs ?? (DEFAULT_UPGRADE_DEADLINE_SECONDS + 60) * 1000 });
}

/** The reason of a failed node: a timeout and a lost lock keep theirs; anything else is ApplyFailed. */
function nodeFailureReason(error: unknown): ErrorReason {
  return error instanceof BosunError && (error.reason === "HealthTimeout" || error.reason === "Locked" || error.reason === "ProcessTimeout") ? error.reason : "ApplyFailed";
}

/** Throws when the run must stop (its lock was lost): checked before every change bosun makes. */
function throwIfStopping(ctx: KubeadmContext): void {
  if (ctx.signal.aborted) {
    throw new BosunError(`cluster ${ctx.cluster}: stopped before the next change: the cluster lock was lost`, { reason: "Locked", identity: `${ctx.cluster}:` });
  }
}

/** Nodes of a role in the plan's order, then any the plan did not know (joined since), by name. */
async function nodeOrder(ctx: KubeadmContext, role: "control-plane" | "worker", targets: readonly string[]): Promise<string[]> {
  const observed = await observe(ctx);
  const present = observed.nodes.filter((n) => n.role === role).map((n) => n.name);
  const missing = targets.filter((t) => !present.includes(t));
  if (missing.length > 0) ctx.log(`${ctx.cluster}: ${missing.join(", ")} left the cluster since the plan; skipped`);
  return [...targets.filter((t) => present.includes(t)), ...present.filter((n) => !targets.includes(n))];
}

function guard(ctx: KubeadmContext, observed: ObservedKubeadm, move: NodeMove, stepId: string): void {
  const problems = moveProblems(observed, move);
  if (problems.length === 0) return;
  throw new BosunError(`${stepId}: refused before touching anything: ${problems.join("; ")}`, { reason: "ApplyFailed", phase: "guard", identity: `${ctx.cluster}:` });
}

async function observe(ctx: KubeadmContext): Promise<ObservedKubeadm> {
  const observed = await withRetry(() => observeKubeadm(ctx.rest), retryOptions(ctx));
  if ("invalid" in observed) throw new BosunError(`cluster ${ctx.cluster}: ${observed.invalid}`, { reason: "ApplyFailed", identity: `${ctx.cluster}:` });
  return observed;
}

function staticPodsAt(observed: ObservedKubeadm, node: string, to: string): boolean {
  const pods = observed.controlPlane.find((n) => n.node === node);
  if (!pods) return false;
  return [pods.apiserver, pods.controllerManager, pods.scheduler].every((version) => version !== null && !before(version, to));
}

function kubeletAt(observed: ObservedKubeadm, node: string, to: string): boolean {
  const found = observed.nodes.find((n) => n.name === node);
  return found !== undefined && !before(found.kubelet, to);
}

/** True when `version` is older than `to` (unparseable counts as older, so the node is not skipped). */
function before(version: string, to: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(to);
  if (!a.ok || !b.ok) return true;
  return compareVersions(a.version, b.version) < 0;
}

function describeRange(range: { oldest: string; newest: string }): string {
  return range.oldest === range.newest ? range.oldest : `${range.oldest}–${range.newest}`;
}

function retryOptions(ctx: KubeadmContext): RetryOptions {
  return {
    signal: ctx.signal,
    outageMs: ctx.outageMs ?? 5 * 60_000,
    onRetry: (error, delayMs) => {
      ctx.log(`${ctx.cluster}: ${error.message.split("\n")[0] ?? "unreachable"}; retrying in ${(delayMs / 1000).toFixed(1)} s`);
    },
  };
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

/** What {@link kubeadmUpgrader} needs besides the run's session. */
export type KubeadmUpgraderOptions = Omit<KubeadmContext, "signal" | "record"> & {
  /** The versions the plan was computed from (the preflight checks they still hold). */
  planned: { controlPlane?: { oldest: string; newest: string }; workers?: { oldest: string; newest: string } };
};

/** The kubeadm driver behind the executor's {@link Upgrader} interface. */
export function kubeadmUpgrader(options: KubeadmUpgraderOptions): Upgrader {
  const { planned, ...base } = options;
  const context = (session: UpgradeSession): KubeadmContext => ({ ...base, signal: session.signal, record: session.record });
  return {
    preflight: (session) => kubeadmPreflight(context(session), planned),
    run: async (step, session) => {
      if (step.kind === "topology.scale") {
        throw new BosunError(`${step.id}: a kubeadm cluster's control plane is scaled by hand (see the plan's runbook)`, { reason: "ApplyFailed" });
      }
      return executeKubeadmStep(context(session), step);
    },
    versions: async () => {
      const observed = await observeKubeadm(base.rest);
      if ("invalid" in observed) return "unknown";
      const ranges = versionRanges(versionState(observed));
      const cp = observed.nodes.filter((n) => n.role === "control-plane").length;
      const workers = observed.nodes.length - cp;
      const cpText = ranges.controlPlane ? describeRange(ranges.controlPlane) : "?";
      const workerText = ranges.workers ? `, workers ${describeRange(ranges.workers)} (${workers} node${workers === 1 ? "" : "s"})` : "";
      return `control plane ${cpText} (${cp} node${cp === 1 ? "" : "s"})${workerText}`;
    },
  };
}
