/**
 * Executes a Cluster API cluster's upgrade and topology steps (DESIGN section 4) by changing what Cluster
 * API reconciles, in the management cluster, and waiting for its controllers to converge:
 *
 * - `controlPlane.upgrade`: the KubeadmControlPlane's `spec.version`, then wait until `status.version`
 *   shows it and every replica is updated and ready (KCP rolls its machines one at a time by itself);
 * - `workers.upgrade`: each MachineDeployment's `spec.template.spec.version` in turn, each waited for
 *   before the next, so a bad version stops after one group of workers;
 * - `topology.scale`: the KubeadmControlPlane's `spec.replicas`, then wait for the replicas.
 *
 * Every step reads the objects again and asks the skew guards in `rollout.ts` before it patches anything,
 * whatever the plan said. Patches are JSON merge patches with field manager `bosun`, and setting a value
 * that is already set changes nothing, so a step that ran before (a resumed run) only waits — or reports
 * that there is nothing to do. A management cluster that stops answering (an API server restart, a network
 * blip) is retried with backoff until the step's timeout; only the timeout fails the step, naming the
 * object, what bosun waited for and what it saw last.
 */
import { checkRungBeforeStart } from "../rung-checks.js";
import { FIELD_MANAGER } from "../../constants.js";
import { identity } from "../../identity.js";
import type { NodeLike } from "../../kube/nodes.js";
import { KubeApiError, type KubeRest } from "../../kube/rest.js";
import { isTransient, withRetry } from "../../kube/retry.js";
import { pollUntil } from "../../poll.js";
import type { ControlPlaneUpgradeStep, TopologyScaleStep, WorkersUpgradeStep } from "../../plan/types.js";
import {
  CAPI,
  CLUSTER_NAME_LABEL,
  KUBEADM_CONTROL_PLANE,
  clusterPath,
  controlPlanePath,
  controlPlaneRefOf,
  machineDeploymentSelector,
  machineDeploymentsPath,
  type ClusterLike,
  type ObjectKey,
} from "./parse.js";
import {
  ClusterAPIStepError,
  capiVersion,
  controlPlaneProgress,
  controlPlaneUpgradeDecision,
  machineDeploymentProgress,
  scaleDecision,
  workersUpgradeDecision,
  type ControlPlaneView,
  type MachineDeploymentView,
  type Progress,
  type StepDecision,
} from "./rollout.js";

/** What one Cluster API step needs. */
export interface ClusterAPIStepContext {
  /** Fleet cluster name (for messages). */
  cluster: string;
  /** Where the Cluster API objects live: the management cluster's context, namespace, Cluster name. */
  provider: { context: string; namespace: string; name: string };
  /** The management cluster. */
  management: KubeRest;
  /** The workload cluster (its Nodes). */
  workload: KubeRest;
  /** How long one step may take before it fails. */
  timeoutMs: number;
  /** Aborts waits (the run is stopping). */
  signal: AbortSignal;
  /** One line of progress per call, prefixed by the caller with nothing: include the cluster name yourself. */
  log: (line: string) => void;
}

/**
 * Executes one Cluster API step; returns a one-line description of what it did (without timings: the
 * caller times steps, and the progress lines logged on the way carry the time since the step started).
 */
export async function executeClusterAPIStep(
  ctx: ClusterAPIStepContext,
  step: ControlPlaneUpgradeStep | WorkersUpgradeStep | TopologyScaleStep,
): Promise<string> {
  const run = new StepRun(ctx);
  switch (step.kind) {
    case "controlPlane.upgrade":
      return upgradeControlPlane(run, step);
    case "workers.upgrade":
      return upgradeWorkers(run, step);
    case "topology.scale":
      return scaleControlPlane(run, step);
  }
}

const MACHINE_DEPLOYMENT = "MachineDeployment";
/** First pause between two polls of a rollout; polls speed up to it again whenever the rollout moves. */
const POLL_MIN_MS = 250;
/** Longest pause between two polls. */
const POLL_MAX_MS = 2_000;

/** The KubeadmControlPlane of the step's Cluster, as read just now. */
interface ControlPlaneRead {
  key: ObjectKey;
  id: string;
  path: string;
  object: ControlPlaneView;
}

async function upgradeControlPlane(run: StepRun, step: ControlPlaneUpgradeStep): Promise<string> {
  const kcp = await run.controlPlane();
  requireTarget(run, step.targets, kcp);
  const [machineDeployments, nodes] = await Promise.all([
    run.read(`listing the MachineDeployments of ${run.clusterId}`, () =>
      run.ctx.management.list<MachineDeploymentView>(machineDeploymentsPath(run.ctx.provider.namespace), {
        labelSelector: machineDeploymentSelector(run.ctx.provider.name),
      }),
    ),
    run.read(`listing the Nodes of workload cluster ${run.ctx.cluster}`, () => run.ctx.workload.list<NodeLike>("/api/v1/nodes")),
  ]);
  const kubelets = nodes.map((n) => ({ node: n.metadata?.name ?? "", version: n.status?.nodeInfo?.kubeletVersion ?? "" }));
  const version = capiVersion(step.to);
  const progress = async (): Promise<Progress> => controlPlaneProgress(await run.getControlPlane(kcp), { version: step.to });
  // The pre-upgrade checks again on the workload cluster, only before the version is set.
  if (kcp.object.spec?.version !== version) await checkRungBeforeStart(run.ctx.workload, undefined, step.id, step.to, `${run.ctx.cluster}:`);
  const done = await run.act({
    id: kcp.id,
    name: describe(kcp.key, KUBEADM_CONTROL_PLANE),
    decision: controlPlaneUpgradeDecision(kcp.object, step.to, machineDeployments, kubelets),
    field: "spec.version",
    from: kcp.object.spec?.version ?? "(none)",
    to: version,
    patch: { spec: { version } },
    path: kcp.path,
    progress,
  });
  if (done !== undefined) return done;
  await run.waitUntil(kcp.id, `status.version ${version} with every replica updated and ready`, progress);
  return `${describe(kcp.key, KUBEADM_CONTROL_PLANE)} converged at ${version} (${replicasOf(kcp.object)} updated and ready)`;
}

async function upgradeWorkers(run: StepRun, step: WorkersUpgradeStep): Promise<string> {
  const version = capiVersion(step.to);
  const namespace = run.ctx.provider.namespace;
  const pathOf = (name: string): string => `${machineDeploymentsPath(namespace)}/${encodeURIComponent(name)}`;
  const idOf = (name: string): string => identity({ cluster: run.ctx.provider.context, group: CAPI.clusterGroup, kind: MACHINE_DEPLOYMENT, namespace, name });
  // Every target is checked before the first is patched, so a step that cannot finish changes nothing;
  // each is checked again just before its own patch (the rollouts before it took time).
  const check = async (name: string): Promise<{ decision: StepDecision; md: MachineDeploymentView }> => {
    const [kcp, md] = await Promise.all([run.controlPlane(), run.read(`reading ${idOf(name)}`, () => run.ctx.management.get<MachineDeploymentView>(pathOf(name)))]);
    if (md === null) return { decision: { action: "refuse", reason: "it does not exist (any more): plan again" }, md: {} };
    const owner = md.spec?.clusterName ?? md.metadata?.labels?.[CLUSTER_NAME_LABEL];
    if (owner !== run.ctx.provider.name) {
      return { decision: { action: "refuse", reason: `it belongs to Cluster ${owner ?? "(none)"}, not ${run.ctx.provider.name}` }, md };
    }
    return { decision: workersUpgradeDecision(md, step.to, kcp.object), md };
  };
  for (const name of step.targets) {
    const { decision } = await check(name);
    if (decision.action === "refuse") run.refuse(idOf(name), decision.reason);
  }
  const results: string[] = [];
  for (const name of step.targets) {
    const id = idOf(name);
    const { decision, md } = await check(name);
    // The rollouts before this one took time; if the cluster changed meanwhile, say what was done already.
    if (decision.action === "refuse" && results.length > 0) {
      run.refuse(id, decision.reason, `${MACHINE_DEPLOYMENT}s already at ${version}: ${results.join(", ")}; ${name} was not patched`);
    }
    const progress = async (): Promise<Progress> => machineDeploymentProgress((await run.ctx.management.get<MachineDeploymentView>(pathOf(name))) ?? {}, step.to);
    const done = await run.act({
      id,
      name: `${MACHINE_DEPLOYMENT} ${namespace}/${name}`,
      decision,
      field: "spec.template.spec.version",
      from: md.spec?.template?.spec?.version ?? "(none)",
      to: version,
      patch: { spec: { template: { spec: { version } } } },
      path: pathOf(name),
      progress,
    });
    if (done !== undefined) {
      results.push(`${name} already converged`);
      continue;
    }
    await run.waitUntil(id, `every replica updated to ${version} and ready`, progress);
    const replicas = md.spec?.replicas ?? 1;
    results.push(`${name} (${replicas} machine${replicas === 1 ? "" : "s"})`);
  }
  return `${MACHINE_DEPLOYMENT}s of Cluster ${namespace}/${run.ctx.provider.name} at ${version}: ${results.join(", ")}`;
}

async function scaleControlPlane(run: StepRun, step: TopologyScaleStep): Promise<string> {
  const kcp = await run.controlPlane();
  const name = describe(kcp.key, KUBEADM_CONTROL_PLANE);
  const current = kcp.object.spec?.replicas ?? 1;
  if (current !== step.from && current !== step.to) {
    run.ctx.log(`${run.ctx.cluster}: ${kcp.id}: spec.replicas is ${current} now (the plan saw ${step.from}); scaling to ${step.to} as the spec asks`);
  }
  const progress = async (): Promise<Progress> => controlPlaneProgress(await run.getControlPlane(kcp), { replicas: step.to });
  const decision = scaleDecision(kcp.object, step.to);
  const done = await run.act({
    id: kcp.id,
    name,
    decision,
    field: "spec.replicas",
    from: String(current),
    to: String(step.to),
    patch: { spec: { replicas: step.to } },
    path: kcp.path,
    progress,
  });
  if (done !== undefined) return done;
  await run.waitUntil(kcp.id, `${step.to} replicas, every one updated and ready`, progress);
  const how = decision.action === "patch" ? `scaled from ${current} to ${step.to} replicas` : `at ${step.to} replicas (set by an earlier run)`;
  return `${name} ${how}, all updated and ready`;
}

/** What {@link StepRun.act} acts on: one object, the guard's decision, and the one field the step sets. */
interface ActOn {
  /** The object's identity. */
  id: string;
  /** `Kind namespace/name`, for the returned description. */
  name: string;
  decision: StepDecision;
  field: string;
  from: string;
  to: string;
  /** The merge patch that sets `field` to `to`, and the object's path. */
  patch: unknown;
  path: string;
  /** Reads the object once and judges it (no retry: callers decide). */
  progress: () => Promise<Progress>;
}

/** The plan names the KubeadmControlPlane as `namespace/name`; an older plan may name it alone. */
function requireTarget(run: StepRun, targets: readonly string[], kcp: ControlPlaneRead): void {
  const names = [`${kcp.key.namespace}/${kcp.key.name}`, kcp.key.name];
  const unknown = targets.filter((t) => !names.includes(t));
  if (unknown.length > 0) {
    run.refuse(kcp.id, `the step names ${unknown.join(", ")}, but Cluster ${run.ctx.provider.namespace}/${run.ctx.provider.name}'s control plane is ${names[0] ?? ""}: plan again`);
  }
}

function describe(key: ObjectKey, kind: string): string {
  return `${kind} ${key.namespace}/${key.name}`;
}

function replicasOf(kcp: ControlPlaneView): string {
  const replicas = kcp.spec?.replicas ?? 1;
  return `${replicas}/${replicas} replica${replicas === 1 ? "" : "s"}`;
}

/**
 * One step's run: its deadline, and reads, patches and waits that ride out a management cluster that
 * stops answering for a while.
 */
class StepRun {
  private readonly started = performance.now();
  private readonly deadline: number;
  readonly clusterId: string;

  constructor(readonly ctx: ClusterAPIStepContext) {
    this.deadline = Date.now() + ctx.timeoutMs;
    this.clusterId = identity({ cluster: ctx.provider.context, group: CAPI.clusterGroup, kind: "Cluster", namespace: ctx.provider.namespace, name: ctx.provider.name });
  }

  /** Seconds since the step started, for people: `12.3 s`. */
  elapsed(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(1)} s`;
  }

  /** Reads the Cluster and the KubeadmControlPlane its `spec.controlPlaneRef` names. */
  async controlPlane(): Promise<ControlPlaneRead> {
    const { management, provider } = this.ctx;
    const ref = { namespace: provider.namespace, name: provider.name };
    const cluster = await this.read(`reading ${this.clusterId}`, () => management.get<ClusterLike>(clusterPath(ref)));
    if (cluster === null) this.refuse(this.clusterId, "it does not exist in the management cluster");
    const key = controlPlaneRefOf(provider.context, ref, cluster);
    if ("invalid" in key) this.refuse(this.clusterId, key.invalid);
    const id = identity({ cluster: provider.context, group: CAPI.controlPlaneGroup, kind: KUBEADM_CONTROL_PLANE, ...key });
    const path = controlPlanePath(key);
    const object = await this.read(`reading ${id}`, () => management.get<ControlPlaneView>(path));
    if (object === null) this.refuse(id, `it does not exist (spec.controlPlaneRef of ${this.clusterId})`);
    return { key, id, path, object };
  }

  /** Reads the KubeadmControlPlane again (once: callers retry); a missing one is an empty object, which never converges. */
  async getControlPlane(kcp: ControlPlaneRead): Promise<ControlPlaneView> {
    return (await this.ctx.management.get<ControlPlaneView>(kcp.path)) ?? {};
  }

  /**
   * Acts on a guard's decision: refuses, or patches `field` (logging the change), or — when an earlier run
   * set the value already — checks the object: converged, it returns what to report (nothing left to do);
   * otherwise it returns undefined and the caller waits for the rollout, as after a patch.
   */
  async act(action: ActOn): Promise<string | undefined> {
    const { id, decision } = action;
    if (decision.action === "refuse") this.refuse(id, decision.reason);
    if (decision.action === "patch") {
      await this.patch(id, action.path, action.patch);
      this.ctx.log(`${this.ctx.cluster}: ${id}: ${action.field} ${action.from} → ${action.to}`);
      return undefined;
    }
    const now = await this.read(`reading ${id}`, action.progress);
    if (now.converged) {
      this.ctx.log(`${this.ctx.cluster}: ${id}: ${action.field} is already ${action.to} and converged (${now.seen}): nothing to do`);
      return `${action.name} already at ${action.field} ${action.to} and converged (${now.seen}): nothing to do`;
    }
    this.ctx.log(`${this.ctx.cluster}: ${id}: ${action.field} is already ${action.to} (set by an earlier run): waiting for the rollout`);
    return undefined;
  }

  /** Throws the guard's refusal; `changed` says what the step changed before it (default: nothing). */
  refuse(id: string, reason: string, changed = "nothing was changed"): never {
    throw new ClusterAPIStepError("guard", `${id}: refused: ${reason}; ${changed}`, { identity: id });
  }

  /** A merge patch with field manager `bosun`; a transient failure is retried (setting a value is idempotent). */
  private async patch(id: string, path: string, body: unknown): Promise<void> {
    const response = await this.read(`patching ${id}`, async () => {
      const answer = await this.ctx.management.send({
        method: "PATCH",
        path,
        query: { fieldManager: FIELD_MANAGER },
        body: JSON.stringify(body),
        contentType: "application/merge-patch+json",
      });
      // 5xx and 429 are the API server's own passing trouble: thrown so that `read` retries them.
      if (answer.status >= 500 || answer.status === 429) {
        throw new KubeApiError(`${id}: PATCH: HTTP ${answer.status}: ${statusMessage(answer.body)}`, answer.status, undefined, id);
      }
      return answer;
    });
    if (response.status >= 200 && response.status < 300) return;
    throw new ClusterAPIStepError("patch", `${id}: the management cluster refused the patch: HTTP ${response.status}: ${statusMessage(response.body)}`, { identity: id });
  }

  /**
   * Runs a read (or an idempotent write), retrying while the management or workload cluster is
   * unreachable or answers 5xx/429, until the step's deadline; other errors are thrown at once.
   */
  async read<T>(what: string, operation: () => Promise<T>): Promise<T> {
    this.throwIfStopped(what);
    let reported = false;
    try {
      return await withRetry(operation, {
        signal: this.ctx.signal,
        // The step's deadline is the budget for an outage that starts now.
        outageMs: Math.max(0, this.deadline - Date.now()),
        onRetry: (error) => {
          if (!reported) this.ctx.log(`${this.ctx.cluster}: ${what}: ${firstLine(error.message)}; retrying until the step's timeout`);
          reported = true;
        },
      });
    } catch (error) {
      this.throwIfStopped(what);
      if (!isTransient(error)) throw error;
      throw new ClusterAPIStepError("wait", `${this.ctx.cluster}: timed out after ${this.timeout()} ${what}: ${error.message}`, {
        identity: this.clusterId,
        cause: error,
        timeout: true,
      });
    }
  }

  /**
   * Polls `progress` with backoff until it reports convergence, logging every change of what it sees with
   * the time since the step started. A management cluster that stops answering is retried until the
   * deadline; then the step fails naming the object, what it waited for and the last thing it saw.
   */
  async waitUntil(id: string, what: string, progress: () => Promise<Progress>): Promise<void> {
    let lastSeen = "nothing yet";
    let outage: string | undefined;
    this.throwIfStopped(`waiting for ${id}`);
    try {
      await pollUntil<undefined>(
        async () => {
          try {
            const now = await progress();
            if (outage !== undefined) this.ctx.log(`${this.ctx.cluster}: ${id}: the management cluster answers again (${this.elapsed()})`);
            outage = undefined;
            if (now.converged) {
              this.ctx.log(`${this.ctx.cluster}: ${id}: converged: ${now.seen} (${this.elapsed()})`);
              return { done: true, value: undefined };
            }
            if (now.seen === lastSeen) return { done: false };
            this.ctx.log(`${this.ctx.cluster}: ${id}: ${now.seen} (${this.elapsed()})`);
            lastSeen = now.seen;
            return { done: false, progressed: true };
          } catch (error) {
            if (!isTransient(error)) throw error;
            if (outage === undefined) this.ctx.log(`${this.ctx.cluster}: ${id}: ${firstLine(error.message)}; retrying until the step's timeout (${this.elapsed()})`);
            outage = firstLine(error.message);
            return { done: false };
          }
        },
        {
          deadline: this.deadline,
          backoff: { initialMs: POLL_MIN_MS, maxMs: POLL_MAX_MS, factor: 1.5 },
          signal: this.ctx.signal,
          onTimeout: () => {
            const last = outage === undefined ? lastSeen : `${lastSeen}; since then the management cluster does not answer: ${outage}`;
            return new ClusterAPIStepError("wait", `${id}: timed out after ${this.timeout()} waiting for ${what}; last seen: ${last}`, { identity: id, timeout: true });
          },
        },
      );
    } catch (error) {
      // An abort ends the wait at once; it is reported as this step being stopped.
      this.throwIfStopped(`waiting for ${id}`);
      throw error;
    }
  }

  private throwIfStopped(what: string): void {
    if (!this.ctx.signal.aborted) return;
    throw new ClusterAPIStepError("wait", `${this.ctx.cluster}: stopped ${what}: the run is stopping`, { identity: this.clusterId, retryable: true });
  }

  private timeout(): string {
    return `${Math.round(this.ctx.timeoutMs / 1000)} s`;
  }
}

/** The message of a Kubernetes Status body, or the start of the body. */
function statusMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not a Status object
  }
  return body.slice(0, 200);
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
