/**
 * One-off Jobs bosun runs in a cluster (a pre-upgrade etcd snapshot, a node upgrade): create, wait for the
 * outcome, read what the pod reported, delete. Every call rides out a cluster that stops answering for a
 * while (`withRetry`): these Jobs run while API servers restart.
 */
import { GROUPS, identity } from "../identity.js";
import { BosunError } from "../errors.js";
import { KubeApiError, type KubeObject, type KubeRest } from "./rest.js";
import { pollUntil } from "../poll.js";
import { withRetry, type RetryOptions } from "./retry.js";

/** A Job as far as bosun reads it. */
export interface JobObject {
  metadata: { name: string; namespace: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    active?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** What the Job's (latest) pod says. */
export interface JobPod {
  name: string;
  node: string | null;
  /** The container's termination message (what the script wrote to /dev/termination-log), or null. */
  message: string | null;
  /** `reason` and exit code of a container that terminated with an error, e.g. `Error, exit code 1`. */
  failure: string | null;
}

/** How a Job ended. */
export type JobOutcome =
  | { kind: "succeeded"; pod: JobPod | null }
  | { kind: "failed"; reason: string; pod: JobPod | null };

/** The state of a Job from its conditions: still running, or how it ended. */
export function jobState(job: JobObject): "running" | "succeeded" | { failed: string } {
  const conditions = job.status?.conditions ?? [];
  const isTrue = (type: string): boolean => conditions.some((c) => c.type === type && c.status === "True");
  if (isTrue("Complete")) return "succeeded";
  const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) return { failed: [failed.reason, failed.message].filter(Boolean).join(": ") || "failed" };
  return "running";
}

function jobPath(namespace: string, name?: string): string {
  return `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

/** Reads a Job; null when it does not exist. */
export async function readJob(rest: KubeRest, namespace: string, name: string, options: RetryOptions = {}): Promise<JobObject | null> {
  return withRetry(() => rest.get<JobObject>(jobPath(namespace, name)), options);
}

/** Creates a Job; `exists` when one of that name is there already (its owner decides what to do). */
export async function createJob(rest: KubeRest, job: KubeObject, options: RetryOptions = {}): Promise<"created" | "exists"> {
  const namespace = job.metadata.namespace ?? "default";
  return withRetry(async () => {
    try {
      await rest.call({ method: "POST", path: jobPath(namespace), body: JSON.stringify(job), contentType: "application/json" }, `create Job ${namespace}/${job.metadata.name}`);
      return "created" as const;
    } catch (error) {
      // A retried create whose first attempt landed also answers 409: the Job is there either way.
      if (error instanceof KubeApiError && error.status === 409) return "exists" as const;
      throw error;
    }
  }, options);
}

/** Deletes a Job and its pods, and waits until the Job is gone (so its name can be used again). */
export async function deleteJob(rest: KubeRest, namespace: string, name: string, options: RetryOptions & { timeoutMs?: number } = {}): Promise<void> {
  await withRetry(async () => {
    try {
      await rest.call(
        {
          method: "DELETE",
          path: jobPath(namespace, name),
          body: JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" }),
          contentType: "application/json",
        },
        `delete Job ${namespace}/${name}`,
      );
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  }, options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  await pollUntil(async () => ((await readJob(rest, namespace, name, options)) === null ? { done: true, value: undefined } : { done: false }), {
    deadline: Date.now() + timeoutMs,
    backoff: { initialMs: 500, maxMs: 500 },
    ...(options.signal ? { signal: options.signal } : {}),
    onTimeout: () => new BosunError(`Job ${namespace}/${name} was not deleted within ${Math.round(timeoutMs / 1000)} s`, { reason: "ApplyFailed", phase: "job", identity: identity({ cluster: rest.cluster, group: GROUPS.batch, kind: "Job", namespace, name }) }),
  });
}

interface PodObject {
  metadata: { name: string; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    containerStatuses?: {
      name: string;
      state?: { terminated?: { exitCode?: number; reason?: string; message?: string }; waiting?: { reason?: string; message?: string } };
    }[];
  };
}

/** The pods of a Job, oldest first. */
async function jobPods(rest: KubeRest, namespace: string, name: string, options: RetryOptions): Promise<PodObject[]> {
  const pods = await withRetry(
    () => rest.list<PodObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { labelSelector: `job-name=${name}` }),
    options,
  );
  return [...pods].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
}

/** What the newest of a Job's pods reported; null when it has none (any more). */
function reportOf(pods: readonly PodObject[]): JobPod | null {
  const pod = pods.at(-1);
  if (!pod) return null;
  const terminated = pod.status?.containerStatuses?.map((c) => c.state?.terminated).find((t) => t !== undefined);
  const message = terminated?.message?.trim() || null;
  const failure = terminated && terminated.exitCode !== 0 ? `${terminated.reason ?? "Error"}, exit code ${terminated.exitCode ?? "?"}` : null;
  return { name: pod.metadata.name, node: pod.spec?.nodeName ?? null, message, failure };
}

/**
 * Waiting reasons of a container that will not start without someone's help. `ErrImagePull` alone is not
 * one (the next pull may work); `ImagePullBackOff` comes after repeated failed pulls.
 */
const STUCK_REASONS = new Set(["ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"]);

/** Why one of the pods cannot start (an image that cannot be pulled…), or undefined. */
function stuckReason(pods: readonly PodObject[]): string | undefined {
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) return `container ${status.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
    }
  }
  return undefined;
}

/**
 * Polls a Job until it succeeded or failed, or `timeoutMs` passed (then throws). A Job deleted under the
 * wait is a failure too.
 */
export async function waitForJob(
  rest: KubeRest,
  namespace: string,
  name: string,
  options: RetryOptions & { timeoutMs: number },
): Promise<JobOutcome> {
  return pollUntil<JobOutcome>(
    async () => {
      const job = await readJob(rest, namespace, name, options);
      if (job === null) return { done: true, value: { kind: "failed", reason: "the Job was deleted before it finished", pod: null } };
      const state = jobState(job);
      // One LIST per poll serves both: the report of a finished Job, and a pod that cannot even start
      // (which never finishes: say so now rather than at the deadline).
      const pods = await jobPods(rest, namespace, name, options);
      if (state === "succeeded") return { done: true, value: { kind: "succeeded", pod: reportOf(pods) } };
      if (state !== "running") return { done: true, value: { kind: "failed", reason: state.failed, pod: reportOf(pods) } };
      const stuck = stuckReason(pods);
      if (stuck) return { done: true, value: { kind: "failed", reason: stuck, pod: reportOf(pods) } };
      return { done: false };
    },
    {
      deadline: Date.now() + options.timeoutMs,
      backoff: { initialMs: 500, maxMs: 3_000 },
      ...(options.signal ? { signal: options.signal } : {}),
      onTimeout: () =>
        new BosunError(`Job ${namespace}/${name} did not finish within ${Math.round(options.timeoutMs / 1000)} s`, {
          reason: "HealthTimeout",
          phase: "job",
          identity: identity({ cluster: rest.cluster, group: GROUPS.batch, kind: "Job", namespace, name }),
        }),
    },
  );
}
