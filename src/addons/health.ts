/**
 * Health of applied add-on objects: an add-on step completes when its workloads are ready (DESIGN
 * section 5), judged the way `kubectl rollout status` judges them:
 *
 * - **Deployment**: the controller saw the latest spec (`observedGeneration ≥ generation`) and every
 *   replica is updated, ready and available, with no old replica left.
 * - **StatefulSet**: the controller saw the latest spec, every replica is ready, and (rolling updates) every
 *   replica is updated — `currentRevision == updateRevision` once no partition holds replicas back.
 * - **DaemonSet**: the controller saw the latest spec and every scheduled pod is updated, ready and available.
 * - **Job**: `Complete`; a `Failed` Job fails the step at once (waiting will not help).
 *
 * Other kinds are ready as soon as they are applied. `evaluateHealth` is pure (table-tested);
 * `waitHealthy` polls the live objects with backoff until all are ready or the time is up, and then names
 * every object that is not ready and why.
 *
 * The errors the add-on verbs throw live here too, because every verb ends in this phase.
 */
import { BosunError, type ErrorReason } from "../errors.js";
import { objectIdentity } from "../identity.js";
import type { KubeObject, KubeRest } from "../kube/rest.js";
import { pollUntil } from "../poll.js";

/** The phases of applying an add-on (STYLE item 5); each failure names the one it happened in. */
export type ApplyPhase = "render" | "recover" | "apply" | "inventory" | "prune" | "health" | "uninstall";

/**
 * An add-on step failed. `reason` is `ApplyFailed`, or `HealthTimeout` for {@link HealthTimeoutError};
 * `phase` says where. The message never carries a secret value.
 */
export class AddonApplyError extends BosunError {
  readonly addon: string;
  override readonly phase: ApplyPhase;
  constructor(
    addon: string,
    phase: ApplyPhase,
    message: string,
    options: { identity?: string; cause?: unknown; retryable?: boolean; reason?: Extract<ErrorReason, "ApplyFailed" | "HealthTimeout"> } = {},
  ) {
    super(message, {
      reason: options.reason ?? "ApplyFailed",
      phase,
      ...(options.identity === undefined ? {} : { identity: options.identity }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      retryable: options.retryable ?? false,
    });
    this.addon = addon;
    this.phase = phase;
  }
}

/** One object that is not ready, and why (e.g. `1/3 replicas ready`). */
export interface NotReady {
  /** `cluster:Kind/namespace/name`. */
  identity: string;
  reason: string;
}

/** Workloads were not ready in time. Retryable: they may still become ready. */
export class HealthTimeoutError extends AddonApplyError {
  readonly notReady: readonly NotReady[];
  constructor(addon: string, timeoutMs: number, notReady: readonly NotReady[]) {
    const list = notReady.map((n) => `${n.identity}: ${n.reason}`).join("; ");
    super(addon, "health", `add-on ${addon}: not ready after ${formatSeconds(timeoutMs)}: ${list}`, {
      reason: "HealthTimeout",
      retryable: true,
      ...(notReady.length === 1 && notReady[0] ? { identity: notReady[0].identity } : {}),
    });
    this.notReady = notReady;
  }
}

/** The verdict on one object's status. */
export type Health = { state: "ready" } | { state: "progressing"; reason: string } | { state: "failed"; reason: string };

/** The kinds whose readiness is judged; anything else is ready once applied. */
const WORKLOADS: Readonly<Record<string, { apiVersion: string; resource: string }>> = {
  Deployment: { apiVersion: "apps/v1", resource: "deployments" },
  StatefulSet: { apiVersion: "apps/v1", resource: "statefulsets" },
  DaemonSet: { apiVersion: "apps/v1", resource: "daemonsets" },
  Job: { apiVersion: "batch/v1", resource: "jobs" },
};

/** Whether `waitHealthy` looks at an object (a Deployment, StatefulSet, DaemonSet or Job). */
export function isWorkload(object: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return WORKLOADS[object.kind]?.apiVersion === object.apiVersion;
}

/** Judges one live object from its spec and status. Pure. */
export function evaluateHealth(object: KubeObject): Health {
  switch (object.kind) {
    case "Deployment":
      return deploymentHealth(object);
    case "StatefulSet":
      return statefulSetHealth(object);
    case "DaemonSet":
      return daemonSetHealth(object);
    case "Job":
      return jobHealth(object);
    default:
      return READY;
  }
}

const READY: Health = { state: "ready" };

function progressing(reason: string): Health {
  return { state: "progressing", reason };
}

/** Fields of a workload read here; everything may be missing on a fresh object. */
interface Workload {
  metadata: { generation?: number };
  spec?: {
    replicas?: number;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    suspend?: boolean;
    completions?: number | null;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    succeeded?: number;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

function asWorkload(object: KubeObject): Workload {
  return object as unknown as Workload;
}

/** The controller has not seen the latest spec yet: nothing else in the status is about it. */
function staleGeneration(w: Workload): Health | undefined {
  const generation = w.metadata.generation;
  const observed = w.status?.observedGeneration;
  if (generation !== undefined && (observed === undefined || observed < generation)) {
    return progressing(`waiting for the controller to observe generation ${generation}`);
  }
  return undefined;
}

function deploymentHealth(object: KubeObject): Health {
  const w = asWorkload(object);
  const stale = staleGeneration(w);
  if (stale) return stale;
  const want = w.spec?.replicas ?? 1;
  const status = w.status ?? {};
  const deadline = status.conditions?.find((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded");
  const suffix = deadline ? " (progress deadline exceeded)" : "";
  const updated = status.updatedReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  if (updated < want) return progressing(`${updated}/${want} replicas updated${suffix}`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination${suffix}`);
  if (ready < want) return progressing(`${ready}/${want} replicas ready${suffix}`);
  if (available < want) return progressing(`${available}/${want} replicas available${suffix}`);
  return READY;
}

function statefulSetHealth(object: KubeObject): Health {
  const w = asWorkload(object);
  const stale = staleGeneration(w);
  if (stale) return stale;
  const want = w.spec?.replicas ?? 1;
  const status = w.status ?? {};
  const ready = status.readyReplicas ?? 0;
  if (ready < want) return progressing(`${ready}/${want} replicas ready`);
  if (w.spec?.updateStrategy?.type === "OnDelete") return READY;
  const partition = w.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  const updated = status.updatedReplicas ?? 0;
  if (partition > 0) {
    // Only the replicas at or above the partition are updated; the rest stay at the current revision.
    const expected = Math.max(0, want - partition);
    return updated >= expected ? READY : progressing(`${updated}/${expected} replicas updated (partition ${partition})`);
  }
  if (updated < want) return progressing(`${updated}/${want} replicas updated`);
  if (status.updateRevision !== undefined && status.currentRevision !== status.updateRevision) {
    return progressing(`revision ${status.currentRevision ?? "(none)"} is not yet ${status.updateRevision}`);
  }
  return READY;
}

function daemonSetHealth(object: KubeObject): Health {
  const w = asWorkload(object);
  const stale = staleGeneration(w);
  if (stale) return stale;
  const status = w.status ?? {};
  const want = status.desiredNumberScheduled ?? 0;
  const ready = status.numberReady ?? 0;
  if (w.spec?.updateStrategy?.type !== "OnDelete") {
    const updated = status.updatedNumberScheduled ?? 0;
    if (updated < want) return progressing(`${updated}/${want} pods updated`);
  }
  if (ready < want) return progressing(`${ready}/${want} pods ready`);
  const available = status.numberAvailable ?? 0;
  if (available < want) return progressing(`${available}/${want} pods available`);
  return READY;
}

function jobHealth(object: KubeObject): Health {
  const w = asWorkload(object);
  const conditions = w.status?.conditions ?? [];
  const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) return { state: "failed", reason: `failed${failed.reason ? ` (${failed.reason})` : ""}` };
  if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return READY;
  // A suspended Job is what its spec asks for: nothing will run until someone resumes it.
  if (w.spec?.suspend === true) return READY;
  const completions = w.spec?.completions ?? 1;
  return progressing(`${w.status?.succeeded ?? 0}/${completions} completions`);
}

/** What `waitHealthy` needs: GETs against one cluster (a `KubeRest`). */
export interface HealthContext {
  rest: Pick<KubeRest, "get" | "cluster"> & Partial<Pick<KubeRest, "signal">>;
  /** Waits between polls (tests pass a fake, with `now`). */
  sleep?: (ms: number) => Promise<void>;
  /** The clock, in milliseconds (default `Date.now`). */
  now?: () => number;
}

/** How `waitHealthy` polls: the first pause, and the longest one (the pause grows by half each round). */
export interface PollOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Named in a timeout's message (default `objects`). */
  addon?: string;
  /**
   * The timeout a timeout's message names (default `timeoutMs`): the whole step's, when this wait only
   * got what the step had left of it.
   */
  reportedTimeoutMs?: number;
}

/**
 * Waits until every workload among `objects` is ready (see the module comment), polling their live state
 * with backoff (0.5 s growing to 5 s) and at most `timeoutMs` in all. A failed Job ends the wait at once
 * with an `AddonApplyError`; the time running out is a {@link HealthTimeoutError} naming every workload
 * that is not ready and why. An object that does not exist (yet) is not ready.
 */
export async function waitHealthy(
  ctx: HealthContext,
  objects: readonly Pick<KubeObject, "apiVersion" | "kind" | "metadata">[],
  timeoutMs: number,
  options: PollOptions = {},
): Promise<void> {
  const now = ctx.now ?? Date.now;
  const addon = options.addon ?? "objects";
  let pending = objects.filter(isWorkload);
  let notReady: { identity: string; reason: string }[] = [];
  const signal = ctx.rest.signal;
  await pollUntil(
    async () => {
      const verdicts = await Promise.all(pending.map(async (object) => ({ object, health: await liveHealth(ctx.rest, object) })));
      const failed = verdicts.find((v) => v.health.state === "failed");
      if (failed && failed.health.state === "failed") {
        const id = identityOf(ctx.rest.cluster, failed.object);
        throw new AddonApplyError(addon, "health", `add-on ${addon}: ${id}: ${failed.health.reason}`, { identity: id });
      }
      pending = verdicts.filter((v) => v.health.state !== "ready").map((v) => v.object);
      notReady = verdicts.flatMap((v) => (v.health.state === "progressing" ? [{ identity: identityOf(ctx.rest.cluster, v.object), reason: v.health.reason }] : []));
      return pending.length === 0 ? { done: true, value: undefined } : { done: false };
    },
    {
      deadline: now() + timeoutMs,
      backoff: { initialMs: options.initialDelayMs ?? 500, maxMs: options.maxDelayMs ?? 5_000, factor: 1.5 },
      ...(signal ? { signal } : {}),
      now,
      ...(ctx.sleep ? { sleep: ctx.sleep } : {}),
      onTimeout: () => new HealthTimeoutError(addon, options.reportedTimeoutMs ?? timeoutMs, notReady),
    },
  );
}

async function liveHealth(rest: Pick<KubeRest, "get">, object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<Health> {
  const workload = WORKLOADS[object.kind];
  if (!workload) return READY;
  const namespace = encodeURIComponent(object.metadata.namespace ?? "default");
  const live = await rest.get<KubeObject>(`/apis/${workload.apiVersion}/namespaces/${namespace}/${workload.resource}/${encodeURIComponent(object.metadata.name)}`);
  return live === null ? progressing("does not exist") : evaluateHealth(live);
}

function identityOf(cluster: string, object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  return objectIdentity(cluster, object);
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}
