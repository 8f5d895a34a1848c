/**
 * Cordon, drain and uncordon one node, the way `kubectl drain --ignore-daemonsets --delete-emptydir-data`
 * does it but through bosun's own client: pods leave through the Eviction API, so PodDisruptionBudgets
 * decide how fast; DaemonSet pods (they would come straight back) and mirror pods (static pods; the
 * kubelet owns them) stay; a pod no controller would recreate stops the drain, since evicting it would
 * lose it for good. As with `--delete-emptydir-data`, an evicted pod's emptyDir volumes are gone.
 *
 * A node bosun cordoned carries the annotation {@link CORDONED_BY_ANNOTATION}, so a later run — even after
 * a crash — knows it may uncordon it. A node someone else cordoned is never uncordoned by bosun.
 */
import { CORDONED_BY_ANNOTATION } from "../../constants.js";
import { GROUPS, identity } from "../../identity.js";
import { BosunError } from "../../errors.js";
import { KubeApiError, type KubeRest } from "../../kube/rest.js";
import { withRetry } from "../../kube/retry.js";
import { pollUntil, type PollResult } from "../../poll.js";
import { MIRROR_POD_ANNOTATION } from "./parse.js";


/** Options shared by the node operations. */
export interface NodeOpOptions {
  signal?: AbortSignal;
  log?: (line: string) => void;
}

interface NodeObject {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
}

interface PodObject {
  metadata: {
    name: string;
    namespace: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  status?: { phase?: string };
}

/** What {@link cordon} found. */
export type CordonResult = "cordoned" | "already-by-bosun" | "already-by-someone-else";

/** Marks a node unschedulable, recording that bosun did (unless someone else had cordoned it before). */
export async function cordon(rest: KubeRest, node: string, runId: string, options: NodeOpOptions = {}): Promise<CordonResult> {
  const current = await withRetry(() => readNode(rest, node), options);
  if (current.spec?.unschedulable) {
    return current.metadata.annotations?.[CORDONED_BY_ANNOTATION] ? "already-by-bosun" : "already-by-someone-else";
  }
  await withRetry(() => patchNode(rest, node, { metadata: { annotations: { [CORDONED_BY_ANNOTATION]: runId } }, spec: { unschedulable: true } }), options);
  return "cordoned";
}

/** Makes a node schedulable again if bosun cordoned it; returns whether it did. */
export async function uncordon(rest: KubeRest, node: string, options: NodeOpOptions = {}): Promise<boolean> {
  const current = await withRetry(() => readNode(rest, node), options);
  if (!current.metadata.annotations?.[CORDONED_BY_ANNOTATION]) return false;
  await withRetry(() => patchNode(rest, node, { metadata: { annotations: { [CORDONED_BY_ANNOTATION]: null } }, spec: { unschedulable: null } }), options);
  return true;
}

/** Why a drain did not finish. */
export class DrainError extends BosunError {
  constructor(message: string, identity: string, phase: "cordon" | "drain" = "drain") {
    super(message, { reason: "ApplyFailed", phase, identity });
  }
}

/** Whether a pod leaves the node in a drain: not finished, not a mirror pod, not a DaemonSet's. */
export function mustEvict(pod: PodObject): boolean {
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return false;
  if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return false;
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  return owner?.kind !== "DaemonSet";
}

/**
 * Evicts every pod that must leave `node`, retrying evictions a PodDisruptionBudget refuses (HTTP 429)
 * until `timeoutMs`, and waits until they are gone. Throws {@link DrainError} naming the pods left and
 * what refused them when the time is up.
 */
export async function drain(rest: KubeRest, node: string, timeoutMs: number, options: NodeOpOptions = {}): Promise<{ evicted: number }> {
  const evicted = new Set<string>();
  const refusals = new Map<string, string>();
  let pods: PodObject[] = [];
  const check = async (): Promise<PollResult<{ evicted: number }>> => {
    pods = (await withRetry(() => rest.list<PodObject>("/api/v1/pods", { fieldSelector: `spec.nodeName=${node}` }), options)).filter(mustEvict);
    if (pods.length === 0) return { done: true, value: { evicted: evicted.size } };
    // Like kubectl drain: only a controller recreates a pod elsewhere; a pod already being deleted is
    // simply waited for.
    const bare = pods.filter((pod) => !pod.metadata.deletionTimestamp && !pod.metadata.ownerReferences?.some((o) => o.controller === true));
    if (bare.length > 0) {
      throw new DrainError(
        `cannot drain node ${node}: pod${bare.length === 1 ? "" : "s"} ${bare.map(podName).join(", ")} ${bare.length === 1 ? "is" : "are"} not managed by a controller and would be lost; delete or move ${bare.length === 1 ? "it" : "them"}, then run bosun apply again`,
        identity({ cluster: rest.cluster, group: GROUPS.core, kind: "Node", name: node }),
      );
    }
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp) continue;
      if (options.signal?.aborted) throw new DrainError(`draining node ${node} was interrupted: the run is stopping`, identity({ cluster: rest.cluster, group: GROUPS.core, kind: "Node", name: node }));
      const refusal = await evict(rest, pod, options);
      if (refusal === undefined) {
        evicted.add(podName(pod));
        refusals.delete(podName(pod));
        options.log?.(`evicted ${podName(pod)}`);
      } else {
        refusals.set(podName(pod), refusal);
      }
    }
    return { done: false };
  };
  // An abort (the lock lost, SIGTERM) ends the wait with the signal's reason.
  return pollUntil(check, {
    deadline: Date.now() + timeoutMs,
    backoff: { initialMs: 1_000, maxMs: 5_000 },
    ...(options.signal ? { signal: options.signal } : {}),
    onTimeout: () => {
      const left = pods.map((pod) => `${podName(pod)}${refusals.has(podName(pod)) ? ` (${refusals.get(podName(pod)) ?? ""})` : " (still terminating)"}`);
      return new DrainError(`draining node ${node} timed out after ${Math.round(timeoutMs / 1000)} s with ${left.length} pod${left.length === 1 ? "" : "s"} left: ${left.join("; ")}`, identity({ cluster: rest.cluster, group: GROUPS.core, kind: "Node", name: node }));
    },
  });
}

/** Evicts one pod; undefined when it was evicted (or is gone), else what refused it. */
async function evict(rest: KubeRest, pod: PodObject, options: NodeOpOptions): Promise<string | undefined> {
  const path = `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}/pods/${encodeURIComponent(pod.metadata.name)}/eviction`;
  const body = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace } };
  return withRetry(async () => {
    try {
      await rest.call({ method: "POST", path, body: JSON.stringify(body), contentType: "application/json" }, `evict pod ${podName(pod)}`);
      return undefined;
    } catch (error) {
      // 429 is how a PodDisruptionBudget says "not now": the drain loop retries it until the drain
      // timeout, so it is an answer here, not an error to retry at once.
      if (error instanceof KubeApiError && error.status === 429) return error.message.replace(/^.*HTTP 429: /, "");
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      // 500 from the eviction subresource is how the API server refuses a pod that more than one
      // PodDisruptionBudget selects: waiting does not help, a person must fix the budgets.
      if (error instanceof KubeApiError && error.status === 500) {
        throw new DrainError(`cannot evict pod ${podName(pod)}: ${error.message.replace(/^.*HTTP 500: /, "")}`, identity({ cluster: rest.cluster, group: GROUPS.core, kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name }));
      }
      throw error;
    }
  }, options);
}

function podName(pod: PodObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

async function readNode(rest: KubeRest, node: string): Promise<NodeObject> {
  const found = await rest.get<NodeObject>(`/api/v1/nodes/${encodeURIComponent(node)}`);
  if (!found) throw new BosunError(`node ${node} is not in cluster ${rest.cluster} any more`, { reason: "ApplyFailed", identity: identity({ cluster: rest.cluster, group: GROUPS.core, kind: "Node", name: node }) });
  return found;
}

async function patchNode(rest: KubeRest, node: string, patch: unknown): Promise<void> {
  await rest.call({ method: "PATCH", path: `/api/v1/nodes/${encodeURIComponent(node)}`, body: JSON.stringify(patch), contentType: "application/merge-patch+json" }, `patch node ${node}`);
}
